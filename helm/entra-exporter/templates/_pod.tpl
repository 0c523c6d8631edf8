{{/* The pod template of the Deployment and of the StatefulSet. */}}
{{- define "entra-exporter.podTemplate" -}}
{{- $secret := include "entra-exporter.secretName" . -}}
{{- $state := include "entra-exporter.stateDirectory" . -}}
{{- $sharded := eq .Values.workload "StatefulSet" -}}
metadata:
  labels:
    {{- include "entra-exporter.labels" . | nindent 4 }}
    {{- if .Values.workloadIdentity.enabled }}
    azure.workload.identity/use: "true"
    {{- end }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A changed config or secret rolls the pods: the exporter reads its config once, at start-up.
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- if and $secret (not .Values.credentials.existingSecret) }}
    checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "entra-exporter.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: entra-exporter
      image: {{ include "entra-exporter.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config.file=/etc/entra-exporter/config.yaml
        - --web.listen-address={{ if contains ":" .Values.listenHost }}[{{ .Values.listenHost }}]{{ else }}{{ .Values.listenHost }}{{ end }}:{{ .Values.containerPort }}
        - --log.level={{ .Values.logLevel }}
        - --log.format={{ .Values.logFormat }}
        {{- if $sharded }}
        # Kubernetes expands $(SHARD_INDEX) from the env below: no shell needed (the image has none).
        - --shard.index=$(SHARD_INDEX)
        - --shard.count={{ .Values.replicaCount }}
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- if or $sharded .Values.extraEnv }}
      env:
        {{- if $sharded }}
        # The StatefulSet controller labels each pod with its ordinal (Kubernetes >= 1.28).
        - name: SHARD_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.containerPort }}
          protocol: TCP
      livenessProbe:
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/entra-exporter
          readOnly: true
        {{- if $secret }}
        - name: credentials
          mountPath: {{ .Values.credentials.mountPath }}
          readOnly: true
        {{- end }}
        {{- if $state }}
        - name: state
          mountPath: {{ $state }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "entra-exporter.fullname" . }}
    {{- if $secret }}
    - name: credentials
      secret:
        secretName: {{ $secret }}
        # Readable by the exporter's group only (fsGroup).
        defaultMode: 0440
    {{- end }}
    {{- if and $state (eq .Values.stateDirectory.type "emptyDir") }}
    - name: state
      emptyDir:
        sizeLimit: {{ .Values.stateDirectory.size }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

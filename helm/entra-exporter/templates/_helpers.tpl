{{/* Names, labels and the checks every template relies on. */}}

{{- define "entra-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "entra-exporter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "entra-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "entra-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "entra-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "entra-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: entra-exporter
{{- end -}}

{{- define "entra-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "entra-exporter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "entra-exporter.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The name of the Secret the credentials come from, or "" when there is none. */}}
{{- define "entra-exporter.secretName" -}}
{{- if .Values.credentials.existingSecret -}}
{{- .Values.credentials.existingSecret -}}
{{- else if or .Values.credentials.stringData .Values.credentials.data -}}
{{- include "entra-exporter.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The activity-log state directory from the exporter's config, or "". */}}
{{- define "entra-exporter.stateDirectory" -}}
{{- $activity := get .Values.config "activity_logs" | default dict -}}
{{- if kindIs "map" $activity -}}
{{- get $activity "state_directory" | default "" -}}
{{- end -}}
{{- end -}}

{{/* True when the cluster serves the Prometheus Operator's API (or `--api-versions` says so). */}}
{{- define "entra-exporter.hasOperator" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{/* A Prometheus duration of one unit (30s, 1m, 2h) in seconds. */}}
{{- define "entra-exporter.seconds" -}}
{{- $m := regexFind "^[0-9]+" . | int -}}
{{- $unit := regexFind "(ms|s|m|h)$" . -}}
{{- if eq $unit "ms" -}}{{ divf $m 1000 }}{{- else if eq $unit "s" -}}{{ $m }}{{- else if eq $unit "m" -}}{{ mul $m 60 }}{{- else -}}{{ mul $m 3600 }}{{- end -}}
{{- end -}}

{{/*
Combinations values.schema.json cannot express; rendering fails with the reason. Called from
every workload template.
*/}}
{{- define "entra-exporter.validate" -}}
{{- if and .Values.credentials.existingSecret (or .Values.credentials.stringData .Values.credentials.data) -}}
{{- fail "credentials: give either existingSecret or stringData/data, not both" -}}
{{- end -}}
{{- if and .Values.workloadIdentity.enabled (not .Values.workloadIdentity.clientId) -}}
{{- fail "workloadIdentity.enabled needs workloadIdentity.clientId: the client id of the app registration or user-assigned identity that trusts this ServiceAccount" -}}
{{- end -}}
{{- if and .Values.workloadIdentity.enabled (not .Values.serviceAccount.create) -}}
{{- fail "workloadIdentity.enabled needs serviceAccount.create: the chart annotates its own ServiceAccount (or annotate yours with azure.workload.identity/client-id and set workloadIdentity.enabled=false, podLabels.azure.workload.identity/use=\"true\")" -}}
{{- end -}}
{{- if and (eq .Values.workload "StatefulSet") (semverCompare "<1.28.0-0" .Capabilities.KubeVersion.Version) -}}
{{- fail (printf "workload=StatefulSet reads the shard index from the pod label apps.kubernetes.io/pod-index, which Kubernetes sets from 1.28; this cluster is %s" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- if and (eq .Values.stateDirectory.type "persistentVolumeClaim") (ne .Values.workload "StatefulSet") -}}
{{- fail "stateDirectory.type=persistentVolumeClaim needs workload=StatefulSet (one claim per shard); use emptyDir with a Deployment" -}}
{{- end -}}
{{- if gt (include "entra-exporter.seconds" .Values.serviceMonitor.scrapeTimeout | float64) (include "entra-exporter.seconds" .Values.serviceMonitor.interval | float64) -}}
{{- fail (printf "serviceMonitor.scrapeTimeout (%s) must not exceed serviceMonitor.interval (%s)" .Values.serviceMonitor.scrapeTimeout .Values.serviceMonitor.interval) -}}
{{- end -}}
{{- $state := include "entra-exporter.stateDirectory" . -}}
{{- if and $state (not (isAbs $state)) -}}
{{- fail (printf "config.activity_logs.state_directory must be an absolute path in the container (got %q)" $state) -}}
{{- end -}}
{{- end -}}

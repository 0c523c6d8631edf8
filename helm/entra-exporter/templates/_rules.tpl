{{/* One rule string of the PrometheusRule with its placeholders filled in from
prometheusRule.settings; the placeholders are described in scripts/deploy/chart_assets.py. */}}
{{- define "entra-exporter.fillRule" -}}
{{- $text := .text -}}
{{- range $key := .template.placeholders.bools -}}
{{- $pattern := printf "(?s)@@IF:%s@@(.*?)@@FI:%s@@" (regexQuoteMeta $key) (regexQuoteMeta $key) -}}
{{- $text = regexReplaceAll $pattern $text (ternary "${1}" "" (eq (toString (index $.values $key)) "true")) -}}
{{- end -}}
{{- range $key := .template.placeholders.lists -}}
{{- $items := list -}}
{{- range (index $.values $key) }}{{ $items = append $items (toString .) }}{{ end -}}
{{- range $found := regexFindAll (printf "@@L:%s:.*?:@@" (regexQuoteMeta $key)) $text -1 -}}
{{- $sep := $found | trimPrefix (printf "@@L:%s:" $key) | trimSuffix ":@@" -}}
{{- $text = replace $found (join $sep $items) $text -}}
{{- end -}}
{{- end -}}
{{- range $key := .template.placeholders.scalars -}}
{{- $value := index $.values $key -}}
{{- $number := or (kindIs "float64" $value) (kindIs "int" $value) (kindIs "int64" $value) -}}
{{- if contains (printf "@@%s|mul100|g@@" $key) $text -}}
{{- if not $number -}}{{- fail (printf "prometheusRule.settings.%s must be a number" $key) -}}{{- end -}}
{{- $text = replace (printf "@@%s|mul100|g@@" $key) (printf "%.6g" (mulf $value 100)) $text -}}
{{- end -}}
{{- /* As Python's str(): integers without a decimal point, other numbers in their shortest form. */ -}}
{{- $formatted := toString $value -}}
{{- if and $number (eq (float64 $value) (floor $value)) -}}
{{- $formatted = printf "%d" (int64 $value) -}}
{{- end -}}
{{- $text = replace (printf "@@%s@@" $key) $formatted $text -}}
{{- end -}}
{{- if contains "@@" $text -}}
{{- fail (printf "PrometheusRule: a placeholder is left in %q; files/rules/entra-exporter.rules.tmpl.yaml and templates/prometheusrule.yaml disagree" $text) -}}
{{- end -}}
{{- $text -}}
{{- end -}}

{{- define "kubia.name" -}}kubia-controller-manager{{- end -}}

{{- define "kubia.labels" -}}
app.kubernetes.io/name: {{ include "kubia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "kubia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubia.apiserverLabels" -}}
app.kubernetes.io/name: kubia-apiserver
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "kubia.etcdLabels" -}}
app.kubernetes.io/name: kubia-etcd
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubia.routerLabels" -}}
app.kubernetes.io/name: kubia-router
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/* Names, labels and the few rules every template shares. */}}

{{- define "peerdistill.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name; object names add a component (at most 52 characters here, so that
     "-coordinator" and a StatefulSet's pod suffix stay within 63). */}}
{{- define "peerdistill.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "peerdistill.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "peerdistill.labels" -}}
app.kubernetes.io/name: {{ include "peerdistill.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "peerdistill.commonLabels" . }}
{{- end -}}

{{/* The labels of every object but the ones that select it; a pod template adds its selector labels. */}}
{{- define "peerdistill.commonLabels" -}}
helm.sh/chart: {{ include "peerdistill.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: peerdistill
{{- end -}}

{{/* Selector labels of a component: include "peerdistill.selectorLabels" (list . "worker"). */}}
{{- define "peerdistill.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "peerdistill.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The labels Orleans' Kubernetes hosting selects a cluster's pods by (it also sets them itself). The
     service id is the one the code gives every silo (SiloSettings.DefaultClusterId). */}}
{{- define "peerdistill.orleansLabels" -}}
orleans/serviceId: peerdistill
orleans/clusterId: {{ .Values.clusterId | quote }}
{{- end -}}

{{- define "peerdistill.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "peerdistill.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "peerdistill.image" -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "%s-cpu" .Chart.AppVersion) .Values.image.tag) -}}
{{- end -}}

{{- define "peerdistill.workerImage" -}}
{{- if .Values.gpu.enabled -}}
{{- printf "%s:%s" (default .Values.image.repository .Values.gpu.image.repository) (default (printf "%s-cuda" .Chart.AppVersion) .Values.gpu.image.tag) -}}
{{- else -}}
{{- include "peerdistill.image" . -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding the database's connection string. */}}
{{- define "peerdistill.databaseSecret" -}}
{{- if and (not .Values.postgresql.enabled) .Values.postgresql.external.existingSecret -}}
{{- .Values.postgresql.external.existingSecret -}}
{{- else -}}
{{- printf "%s-database" (include "peerdistill.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "peerdistill.databaseSecretKey" -}}
{{- if and (not .Values.postgresql.enabled) .Values.postgresql.external.existingSecret -}}
{{- .Values.postgresql.external.existingSecretKey -}}
{{- else -}}
connection-string
{{- end -}}
{{- end -}}

{{- define "peerdistill.runsClaim" -}}
{{- default (printf "%s-runs" (include "peerdistill.fullname" .)) .Values.runs.existingClaim -}}
{{- end -}}

{{/* Where files are mounted in the pods. */}}
{{- define "peerdistill.paths" -}}
data: /var/lib/peerdistill/data
runs: /var/lib/peerdistill/runs
config: /etc/peerdistill/config
tls: /etc/peerdistill/tls
jwt: /etc/peerdistill/jwt
adminToken: /etc/peerdistill/admin-token
{{- end -}}

{{/* Every problem of the values that the schema cannot express, as one failure. */}}
{{- define "peerdistill.validate" -}}
{{- $problems := list -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- $problems = append $problems "tls.enabled needs tls.existingSecret (a Secret with ca.crt, coordinator.crt, coordinator.key, worker.crt, worker.key)" -}}
{{- end -}}
{{- if and (not .Values.tls.enabled) (not .Values.insecure) -}}
{{- $problems = append $problems "without tls.enabled the processes listen beyond loopback only with insecure: true (a pod network you trust); enable TLS or set insecure" -}}
{{- end -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.postgresql.external.existingSecret) (not .Values.postgresql.external.connectionString) -}}
{{- $problems = append $problems "postgresql.enabled is false: give postgresql.external.existingSecret or postgresql.external.connectionString" -}}
{{- end -}}
{{- if and .Values.coordinator.access.jwt.enabled (not .Values.coordinator.access.jwt.audience) -}}
{{- $problems = append $problems "coordinator.access.jwt.enabled needs an audience" -}}
{{- end -}}
{{- if and .Values.coordinator.access.jwt.enabled (not .Values.coordinator.access.jwt.authority) (not .Values.coordinator.access.jwt.issuer) -}}
{{- $problems = append $problems "coordinator.access.jwt.enabled needs an issuer (or an authority)" -}}
{{- end -}}
{{- if and .Values.coordinator.access.jwt.enabled (not .Values.coordinator.access.jwt.authority) (or (not .Values.coordinator.access.jwt.signingKeysSecret) (not .Values.coordinator.access.jwt.signingKeys)) -}}
{{- $problems = append $problems "coordinator.access.jwt.enabled without an authority needs signingKeysSecret and signingKeys" -}}
{{- end -}}
{{- if and .Values.telemetry.metrics.enabled (has (int .Values.telemetry.metrics.port) (list (int .Values.coordinator.ports.grpc) (int .Values.coordinator.ports.http) (int .Values.coordinator.ports.cluster) (int .Values.worker.ports.exchange) (int .Values.worker.ports.cluster))) -}}
{{- $problems = append $problems "telemetry.metrics.port is also the port of another endpoint" -}}
{{- end -}}
{{- $coordinatorPorts := list (int .Values.coordinator.ports.grpc) (int .Values.coordinator.ports.http) (int .Values.coordinator.ports.cluster) -}}
{{- if ne (len (uniq $coordinatorPorts)) 3 -}}
{{- $problems = append $problems "coordinator.ports.grpc, http and cluster must differ" -}}
{{- end -}}
{{- if eq (int .Values.worker.ports.exchange) (int .Values.worker.ports.cluster) -}}
{{- $problems = append $problems "worker.ports.exchange and worker.ports.cluster must differ" -}}
{{- end -}}
{{- if $problems -}}
{{- fail (printf "\n%s" (join "\n" $problems)) -}}
{{- end -}}
{{- end -}}

{{/* What the coordinator's and the workers' pods share. */}}

{{/* The environment Orleans' Kubernetes hosting reads (Microsoft.Orleans.Hosting.Kubernetes: the silo's
     name, namespace and advertised address, the service and cluster ids), from the downward API. */}}
{{- define "peerdistill.orleansEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ORLEANS_SERVICE_ID
  value: peerdistill
- name: ORLEANS_CLUSTER_ID
  value: {{ .Values.clusterId | quote }}
{{- end -}}

{{- define "peerdistill.telemetryEnv" -}}
{{- if .Values.telemetry.otlp.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.telemetry.otlp.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .Values.telemetry.otlp.protocol | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)"
{{- end }}
{{- end -}}

{{/* A probe: include "peerdistill.probe" (list KIND PORT TLS TIMINGS) with KIND http (GET /api/v1/health),
     grpc (grpc.health.v1.Health; kubelet's gRPC probe speaks no TLS: TCP instead) or tcp. */}}
{{- define "peerdistill.probe" -}}
{{- $kind := index . 0 -}}{{- $port := index . 1 -}}{{- $tls := index . 2 -}}{{- $timing := index . 3 -}}
{{- if eq $kind "http" }}
httpGet:
  path: /api/v1/health
  port: {{ $port }}
  scheme: {{ if $tls }}HTTPS{{ else }}HTTP{{ end }}
{{- else if and (eq $kind "grpc") (not $tls) }}
grpc:
  port: {{ $port }}
{{- else }}
tcpSocket:
  port: {{ $port }}
{{- end }}
periodSeconds: {{ $timing.periodSeconds }}
failureThreshold: {{ $timing.failureThreshold }}
timeoutSeconds: {{ $timing.timeoutSeconds }}
{{- end -}}

// Package templatetest makes the Template that benchmarks of template processing measure, the same one in-process
// and through the API server, so that their figures compare.
package templatetest

import (
	"encoding/json"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	// Components is the number of application components in Template: each has a Deployment, a Service, a Secret
	// and a ConfigMap.
	Components = 25
	// Objects is the number of objects in Template.
	Objects = 4 * Components
	// Parameters is the number of Template's parameters.
	Parameters = 20
)

// parameters returns Template's parameters. Four are generated, as in catalog templates (credentials and keys);
// five are used as `${{X}}` (numbers and a boolean), the rest as `${X}`, often several in one string.
func parameters() []templatev1.Parameter {
	return []templatev1.Parameter{
		{Name: "APP_NAME", Value: "shop", Required: true},
		{Name: "ENVIRONMENT", Value: "production"},
		{Name: "IMAGE_REGISTRY", Value: "registry.example.com"},
		{Name: "IMAGE_TAG", Value: "1.4.2"},
		{Name: "REPLICAS", Value: "3"},
		{Name: "REVISION_HISTORY_LIMIT", Value: "5"},
		{Name: "CPU_REQUEST", Value: "250m"},
		{Name: "MEMORY_LIMIT", Value: "512Mi"},
		{Name: "HTTP_PORT", Value: "8080"},
		{Name: "SERVICE_PORT", Value: "80"},
		{Name: "ENABLE_SERVICE_LINKS", Value: "false"},
		{Name: "LOG_LEVEL", Value: "info"},
		{Name: "DOMAIN", Value: "apps.example.com"},
		{Name: "DATABASE_HOST", Value: "postgresql"},
		{Name: "DATABASE_PORT", Value: "5432"},
		{Name: "DATABASE_NAME", Value: "shop"},
		{Name: "DATABASE_USER", Generate: "expression", From: "user[a-z0-9]{5}"},
		{Name: "DATABASE_PASSWORD", Generate: "expression", From: "[a-zA-Z0-9]{24}", Required: true},
		{Name: "API_KEY", Generate: "expression", From: "[a-f0-9]{40}"},
		{Name: "SESSION_SECRET", Generate: "expression", From: `[\w]{64}`},
	}
}

// Template returns a new Template of 100 realistic objects (25 components of a Deployment, a Service, a Secret and
// a ConfigMap) using the 20 Parameters, its objects as raw JSON as the API server decodes them from a request.
// Processing changes a Template in place, so each call returns a new one.
func Template() *templatev1.Template {
	tpl := &templatev1.Template{
		TypeMeta:     metav1.TypeMeta{APIVersion: templatev1.GroupVersion.String(), Kind: "Template"},
		ObjectMeta:   metav1.ObjectMeta{Name: "bench", Annotations: map[string]string{"description": "25 components of a shop"}},
		Message:      "Database user ${DATABASE_USER}, password ${DATABASE_PASSWORD}; API key ${API_KEY}.",
		Parameters:   parameters(),
		ObjectLabels: map[string]string{"app": "${APP_NAME}", "template": "bench"},
	}
	for i := range Components {
		c := fmt.Sprintf("c%02d", i)
		for _, obj := range []map[string]any{deployment(c), service(c), secret(c), configMap(c)} {
			tpl.Objects = append(tpl.Objects, raw(obj))
		}
	}
	return tpl
}

func raw(obj map[string]any) runtime.RawExtension {
	data, err := json.Marshal(obj)
	if err != nil {
		panic(err) // maps of strings, numbers and slices always encode
	}
	return runtime.RawExtension{Raw: data}
}

func meta(name, c string) map[string]any {
	return map[string]any{
		"name":   name,
		"labels": map[string]any{"app": "${APP_NAME}", "component": c, "environment": "${ENVIRONMENT}"},
	}
}

func selector(c string) map[string]any {
	return map[string]any{"app": "${APP_NAME}", "component": c}
}

func deployment(c string) map[string]any {
	name := "${APP_NAME}-" + c
	secretKey := func(env, key string) map[string]any {
		return map[string]any{"name": env, "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": name, "key": key}}}
	}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": meta(name, c),
		"spec": map[string]any{
			"replicas":             "${{REPLICAS}}",
			"revisionHistoryLimit": "${{REVISION_HISTORY_LIMIT}}",
			"selector":             map[string]any{"matchLabels": selector(c)},
			"template": map[string]any{
				"metadata": map[string]any{
					"labels":      selector(c),
					"annotations": map[string]any{"example.com/image-tag": "${IMAGE_TAG}"},
				},
				"spec": map[string]any{
					"enableServiceLinks": "${{ENABLE_SERVICE_LINKS}}",
					"containers": []any{map[string]any{
						"name":  c,
						"image": "${IMAGE_REGISTRY}/${APP_NAME}/" + c + ":${IMAGE_TAG}",
						"ports": []any{map[string]any{"name": "http", "containerPort": "${{HTTP_PORT}}"}},
						"env": []any{
							map[string]any{"name": "LOG_LEVEL", "value": "${LOG_LEVEL}"},
							map[string]any{"name": "ENVIRONMENT", "value": "${ENVIRONMENT}"},
							map[string]any{"name": "DATABASE_URL", "value": "postgresql://${DATABASE_HOST}:${DATABASE_PORT}/${DATABASE_NAME}"},
							secretKey("DATABASE_USER", "database-user"),
							secretKey("DATABASE_PASSWORD", "database-password"),
							secretKey("API_KEY", "api-key"),
						},
						"envFrom": []any{map[string]any{"configMapRef": map[string]any{"name": name + "-config"}}},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "${CPU_REQUEST}", "memory": "${MEMORY_LIMIT}"},
							"limits":   map[string]any{"memory": "${MEMORY_LIMIT}"},
						},
						"readinessProbe": map[string]any{
							"httpGet":       map[string]any{"path": "/healthz", "port": "${{HTTP_PORT}}"},
							"periodSeconds": 10,
						},
					}},
				},
			},
		},
	}
}

func service(c string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": meta("${APP_NAME}-"+c, c),
		"spec": map[string]any{
			"selector": selector(c),
			"ports":    []any{map[string]any{"name": "http", "port": "${{SERVICE_PORT}}", "targetPort": "${{HTTP_PORT}}"}},
		},
	}
}

func secret(c string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": meta("${APP_NAME}-"+c, c),
		"stringData": map[string]any{
			"database-user":     "${DATABASE_USER}",
			"database-password": "${DATABASE_PASSWORD}",
			"api-key":           "${API_KEY}",
			"session-secret":    "${SESSION_SECRET}",
		},
	}
}

func configMap(c string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": meta("${APP_NAME}-"+c+"-config", c),
		"data": map[string]any{
			"LOG_LEVEL":     "${LOG_LEVEL}",
			"DATABASE_HOST": "${DATABASE_HOST}",
			"DATABASE_PORT": "${DATABASE_PORT}",
			"BASE_URL":      "https://${APP_NAME}-" + c + ".${DOMAIN}",
			"application.properties": "environment=${ENVIRONMENT}\nlog.level=${LOG_LEVEL}\n" +
				"database.url=jdbc:postgresql://${DATABASE_HOST}:${DATABASE_PORT}/${DATABASE_NAME}\n" +
				"http.port=${HTTP_PORT}\nbase.url=https://${APP_NAME}-" + c + ".${DOMAIN}\n",
		},
	}
}

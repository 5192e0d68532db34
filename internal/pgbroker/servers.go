package pgbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

const (
	postgresPort = 5432
	// superuser is the instance's administrator, whose password is in the record.
	superuser = "postgres"
	// database is the database every binding gets privileges on; groupRole owns it and
	// everything bindings leave behind when unbound.
	database  = "app"
	groupRole = "app"
)

func instanceLabels(instanceID string) map[string]string {
	return map[string]string{LabelManagedBy: managedBy, LabelInstance: hashID(instanceID)}
}

// serverLabels select the pods of one plan's server of an instance.
func serverLabels(instanceID string, p plan) map[string]string {
	labels := instanceLabels(instanceID)
	labels[labelPlan] = p.name
	return labels
}

// ensureServer creates what is missing of the instance's server for its plan: the
// StatefulSet and the Service in front of it. Both are owned by the record, so deleting
// the record removes them (and the data volume, by the StatefulSet's retention policy).
func (b *Broker) ensureServer(ctx context.Context, inst *instance) error {
	p := plans[inst.planID]
	args, err := initdbArgs(inst.parameters)
	if err != nil {
		return err
	}
	objs := []client.Object{b.statefulSet(inst, p, args), b.service(inst, p)}
	for _, obj := range objs {
		if err := controllerutil.SetControllerReference(inst.secret, obj, b.client.Scheme()); err != nil {
			return err
		}
		// Look before creating: a Service that fails to create as a duplicate has still
		// had a cluster IP allocated (and released) on the way.
		err := b.client.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading %s %s: %w", kindOf(obj), obj.GetName(), err)
		}
		if err := b.client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s %s: %w", kindOf(obj), obj.GetName(), err)
		}
	}
	return nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *appsv1.StatefulSet:
		return "StatefulSet"
	case *corev1.Service:
		return "Service"
	}
	return fmt.Sprintf("%T", obj)
}

func (b *Broker) service(inst *instance, p plan) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: instanceName(inst.id), Namespace: b.namespace, Labels: instanceLabels(inst.id)},
		Spec: corev1.ServiceSpec{
			Selector: serverLabels(inst.id, p),
			Ports:    []corev1.ServicePort{{Name: "postgres", Port: postgresPort, TargetPort: intstr.FromString("postgres")}},
		},
	}
}

func (b *Broker) statefulSet(inst *instance, p plan, initdbArgs []string) *appsv1.StatefulSet {
	labels := serverLabels(inst.id, p)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: serverName(inst.id, p), Namespace: b.namespace, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](1),
			ServiceName: instanceName(inst.id),
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// The server's API credentials are of no use to PostgreSQL.
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{b.postgresContainer(inst, p, initdbArgs)},
				},
			},
		},
	}
	if p.storage == "" {
		sts.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		return sts
	}
	sts.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: instanceLabels(inst.id)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: b.storageClass,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(p.storage)}},
		},
	}}
	// Deprovisioning deletes the data with the server.
	sts.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
	return sts
}

func (b *Broker) postgresContainer(inst *instance, p plan, initdbArgs []string) corev1.Container {
	env := []corev1.EnvVar{{Name: "POSTGRES_PASSWORD", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: inst.secret.Name}, Key: "password"},
	}}}
	if len(initdbArgs) > 0 {
		env = append(env, corev1.EnvVar{Name: "POSTGRES_INITDB_ARGS", Value: strings.Join(initdbArgs, " ")})
	}
	return corev1.Container{
		Name:            "postgres",
		Image:           b.image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Env:             env,
		Ports:           []corev1.ContainerPort{{Name: "postgres", ContainerPort: postgresPort}},
		VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("postgres")}},
			PeriodSeconds: 2,
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(p.cpuRequest), corev1.ResourceMemory: resource.MustParse(p.memoryRequest)},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(p.cpuLimit), corev1.ResourceMemory: resource.MustParse(p.memoryLimit)},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// errServerNotReady says the server does not accept connections yet, with why.
var errServerNotReady = errors.New("the PostgreSQL server is starting")

// serverFailure tells why the instance's server cannot start, if a container says so
// (a bad image, a crashing server); "" while it may still come up.
func (b *Broker) serverFailure(ctx context.Context, inst *instance, p plan) (string, error) {
	var pods corev1.PodList
	if err := b.client.List(ctx, &pods, client.InNamespace(b.namespace), client.MatchingLabels(serverLabels(inst.id, p))); err != nil {
		return "", fmt.Errorf("listing the server's pods: %w", err)
	}
	for _, pod := range pods.Items {
		for _, cs := range pod.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				switch w.Reason {
				case "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError":
					return fmt.Sprintf("the PostgreSQL server cannot start: %s", w.Reason), nil
				}
			}
		}
	}
	return "", nil
}

// serviceAddress is where the broker reaches an instance's server: its Service's
// cluster IP (the broker may run outside the cluster's DNS, as on the node's host).
func (b *Broker) serviceAddress(ctx context.Context, inst *instance) (string, error) {
	svc := &corev1.Service{}
	if err := b.client.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: instanceName(inst.id)}, svc); err != nil {
		return "", fmt.Errorf("reading the instance's Service: %w", err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", errServerNotReady
	}
	return svc.Spec.ClusterIP, nil
}

// serviceHost is the instance's DNS name, which bindings' applications use.
func (b *Broker) serviceHost(instanceID string) string {
	return instanceName(instanceID) + "." + b.namespace + ".svc." + b.clusterDomain
}

package website

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

// Images are the container images a Website's pods run.
type Images struct {
	// WebServer serves the site's files: nginx listening on 8080, serving
	// /usr/share/nginx/html (Kubia's localhost/kubia/nginx image).
	WebServer string
	// Sync keeps the site's files in sync with the repository (cmd/kubia-sync).
	Sync string
}

const (
	webPort     = 8080
	syncPort    = syncstatus.Port
	siteVolume  = "site"
	tmpVolume   = "tmp"
	credsVolume = "credentials"
	// siteLink is the symlink in the site volume that kubia-sync swaps to each new
	// revision; nginx's document root /usr/share/nginx/html resolves through it.
	siteLink = "html"
	// credentialsDir is where kubia-sync reads the secretRef Secret's keys.
	credentialsDir = "/etc/kubia-sync/credentials"
)

// ChildName is the name of a Website's Deployment and Service, as in the book.
func ChildName(site *extensionsv1.Website) string {
	return site.Name + "-website"
}

// The labels that select a Website's pods.
const (
	nameLabel     = "app.kubernetes.io/name"
	nameValue     = "website"
	instanceLabel = "app.kubernetes.io/instance"
)

// selectorLabels select a Website's pods; they hold only values that never change.
func selectorLabels(site *extensionsv1.Website) map[string]string {
	return map[string]string{nameLabel: nameValue, instanceLabel: site.Name}
}

// childLabels are the labels of every object made for a Website.
func childLabels(site *extensionsv1.Website) map[string]string {
	labels := selectorLabels(site)
	labels[ManagedByLabel] = "kubia"
	return labels
}

// desiredDeploymentSpec is the Deployment spec for site. It spells out the values the API
// server would default, so comparing it with the stored spec finds real drift only and
// the controller never writes in steady state.
func desiredDeploymentSpec(site *extensionsv1.Website, imgs Images) appsv1.DeploymentSpec {
	maxUnavailable, maxSurge := intstr.FromString("25%"), intstr.FromString("25%")
	return appsv1.DeploymentSpec{
		Replicas: ptr.To(ptr.Deref(site.Spec.Replicas, 1)),
		Selector: &metav1.LabelSelector{MatchLabels: selectorLabels(site)},
		Strategy: appsv1.DeploymentStrategy{
			Type:          appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
		},
		RevisionHistoryLimit:    ptr.To[int32](10),
		ProgressDeadlineSeconds: ptr.To[int32](600),
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: childLabels(site)},
			Spec:       podSpec(site, imgs),
		},
	}
}

func podSpec(site *extensionsv1.Website, imgs Images) corev1.PodSpec {
	volumes := []corev1.Volume{
		{Name: siteVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if site.Spec.SecretRef != nil {
		volumes = append(volumes, corev1.Volume{Name: credsVolume, VolumeSource: corev1.VolumeSource{
			// Optional: without the Secret the pod still starts, and kubia-sync reports the
			// missing credentials where the Website shows them; the kubelet fills the
			// volume in once the Secret exists.
			Secret: &corev1.SecretVolumeSource{SecretName: site.Spec.SecretRef.Name, DefaultMode: ptr.To[int32](0o400), Optional: ptr.To(true)},
		}})
	}
	return corev1.PodSpec{
		Containers:                    []corev1.Container{webServerContainer(imgs.WebServer), syncContainer(site, imgs.Sync)},
		Volumes:                       volumes,
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr.To[int64](30),
		DNSPolicy:                     corev1.DNSClusterFirst,
		SchedulerName:                 corev1.DefaultSchedulerName,
		// Both images run as non-root users; the volumes must be writable by the sync
		// container's user and readable by nginx's.
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			FSGroup:        ptr.To[int64](65534),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

func webServerContainer(image string) corev1.Container {
	return corev1.Container{
		Name:            "web-server",
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: webPort, Protocol: corev1.ProtocolTCP}},
		VolumeMounts: []corev1.VolumeMount{
			{Name: siteVolume, MountPath: "/usr/share/nginx", ReadOnly: true},
			{Name: tmpVolume, MountPath: "/tmp"},
		},
		ReadinessProbe: probe(webPort, "/"),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		SecurityContext:          restrictedContainer(),
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func syncContainer(site *extensionsv1.Website, image string) corev1.Container {
	args := []string{
		"--repo=" + site.Spec.GitRepo,
		"--root=/site",
		"--link=" + siteLink,
		"--interval=" + syncInterval(site).String(),
		"--listen=:" + strconv.Itoa(syncPort),
	}
	if site.Spec.Ref != "" {
		args = append(args, "--ref="+site.Spec.Ref)
	}
	mounts := []corev1.VolumeMount{{Name: siteVolume, MountPath: "/site"}, {Name: tmpVolume, MountPath: "/tmp"}}
	if site.Spec.SecretRef != nil {
		args = append(args, "--credentials="+credentialsDir)
		mounts = append(mounts, corev1.VolumeMount{Name: credsVolume, MountPath: credentialsDir, ReadOnly: true})
	}
	return corev1.Container{
		Name:            "sync",
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            args,
		Ports:           []corev1.ContainerPort{{Name: "sync", ContainerPort: syncPort, Protocol: corev1.ProtocolTCP}},
		VolumeMounts:    mounts,
		// Ready only once the first revision is published, so no pod serves an empty site.
		ReadinessProbe: probe(syncPort, syncstatus.HealthzPath),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		SecurityContext:          restrictedContainer(),
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func probe(port int32, path string) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromInt32(port), Scheme: corev1.URISchemeHTTP,
		}},
		PeriodSeconds: 2, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
	}
}

// restrictedContainer satisfies the "restricted" Pod Security Standard.
func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// desiredServicePorts are the ports of a Website's Service: the site's, and only it (a
// NodePort Service takes a node port per port, and the cluster's range of node ports is
// small). Kubia's web server passes the push webhook on (POST /.kubia/sync), so Git hosts
// reach it wherever the site is, with no port of its own; the controller asks kubia-sync
// on the pods.
func desiredServicePorts() []corev1.ServicePort {
	return []corev1.ServicePort{
		{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
	}
}

// serviceType is the Website's Service type, NodePort unless it says otherwise.
func serviceType(site *extensionsv1.Website) corev1.ServiceType {
	if site.Spec.ServiceType == "" {
		return corev1.ServiceTypeNodePort
	}
	return corev1.ServiceType(site.Spec.ServiceType)
}

// DefaultSyncInterval is how often a Website's repository is polled unless it says otherwise
// (the API server defaults the field to the same value).
const DefaultSyncInterval = time.Minute

func syncInterval(site *extensionsv1.Website) time.Duration {
	if site.Spec.SyncInterval == nil {
		return DefaultSyncInterval
	}
	return site.Spec.SyncInterval.Duration
}

// desiredIngressRules routes the Website's host to its Service (the web server passes
// /.kubia/sync on to kubia-sync's webhook), over TLS when it names a certificate Secret.
// Only rules and TLS are Kubia's: the ingress class is the cluster's default (the
// DefaultIngressClass admission plugin may set it).
func desiredIngressRules(site *extensionsv1.Website) ([]networkingv1.IngressRule, []networkingv1.IngressTLS) {
	ing := site.Spec.Ingress
	rules := []networkingv1.IngressRule{{
		Host: ing.Host,
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{
				Path:     "/",
				PathType: ptr.To(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: ChildName(site), Port: networkingv1.ServiceBackendPort{Name: "http"},
				}},
			}},
		}},
	}}
	if ing.TLSSecretName == "" {
		return rules, nil
	}
	return rules, []networkingv1.IngressTLS{{Hosts: []string{ing.Host}, SecretName: ing.TLSSecretName}}
}

// ingressURL is where an Ingress serves the Website.
func ingressURL(site *extensionsv1.Website) string {
	if site.Spec.Ingress.TLSSecretName != "" {
		return "https://" + site.Spec.Ingress.Host
	}
	return "http://" + site.Spec.Ingress.Host
}

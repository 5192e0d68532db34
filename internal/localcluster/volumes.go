package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// The node's storage: a default StorageClass whose volumes are directories of the data
// directory, provisioned by the Kubia process itself (it runs on the node's host), so
// PersistentVolumeClaims work as on a cluster with a real provisioner.
const (
	// StorageClassName is the node's default StorageClass.
	StorageClassName = "kubia-local"
	// LocalProvisioner is that class's provisioner.
	LocalProvisioner = "kubia.dev/local-path"

	annProvisionedBy = "pv.kubernetes.io/provisioned-by"
	annSelectedNode  = "volume.kubernetes.io/selected-node"
	// volumeSyncPeriod is how often claims and released volumes are looked at.
	volumeSyncPeriod = time.Second
)

// volumeProvisioner creates a hostPath PersistentVolume for each claim of the class the
// scheduler has placed, and deletes released volumes with their directories.
type volumeProvisioner struct {
	clientset kubernetes.Interface
	root      string
}

func (c *Cluster) startVolumeProvisioner(ctx context.Context, clientset kubernetes.Interface) error {
	p := &volumeProvisioner{clientset: clientset, root: filepath.Join(c.cfg.DataDir, "volumes")}
	if err := os.MkdirAll(p.root, 0o711); err != nil {
		return fmt.Errorf("creating %s: %w", p.root, err)
	}
	if err := p.ensureStorageClass(ctx); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(c.dirs.logs, "volume-provisioner.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer logFile.Close()
		ticker := time.NewTicker(volumeSyncPeriod)
		defer ticker.Stop()
		last := ""
		for {
			// Log each new error once, beside the components' logs.
			if err := p.sync(runCtx); err != nil && runCtx.Err() == nil && err.Error() != last {
				last = err.Error()
				fmt.Fprintf(logFile, "%s %v\n", time.Now().UTC().Format(time.RFC3339), err)
			} else if err == nil {
				last = ""
			}
			select {
			case <-runCtx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	c.stopVolumes = func() { cancel(); <-done }
	return nil
}

func (p *volumeProvisioner) ensureStorageClass(ctx context.Context) error {
	class := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClassName, Annotations: map[string]string{
			"storageclass.kubernetes.io/is-default-class": "true",
		}},
		Provisioner:   LocalProvisioner,
		ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete),
		// The scheduler picks the node first; the volume is made there.
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	_, err := p.clientset.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating StorageClass %s: %w", StorageClassName, err)
	}
	return nil
}

func (p *volumeProvisioner) sync(ctx context.Context) error {
	return errors.Join(p.provisionClaims(ctx), p.deleteReleased(ctx))
}

func (p *volumeProvisioner) provisionClaims(ctx context.Context) error {
	claims, err := p.clientset.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing claims: %w", err)
	}
	var errs []error
	for i := range claims.Items {
		claim := &claims.Items[i]
		if claim.Status.Phase != corev1.ClaimPending || ptr.Deref(claim.Spec.StorageClassName, "") != StorageClassName ||
			claim.Annotations[annSelectedNode] == "" || claim.Spec.VolumeName != "" {
			continue
		}
		errs = append(errs, p.provision(ctx, claim))
	}
	return errors.Join(errs...)
}

// provision makes the claim's directory and its PersistentVolume, bound to the claim.
func (p *volumeProvisioner) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	name := "pvc-" + string(claim.UID)
	dir := filepath.Join(p.root, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	// The pods' users are not known here; the directory is reachable only through the
	// volume (its parent is 0711).
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: LocalProvisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              StorageClassName,
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: ptr.To(corev1.HostPathDirectory)},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{claim.Annotations[annSelectedNode]},
				}},
			}}}},
		},
	}
	_, err := p.clientset.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating volume %s for claim %s/%s: %w", name, claim.Namespace, claim.Name, err)
	}
	return nil
}

// deleteReleased removes the directories and objects of released volumes.
func (p *volumeProvisioner) deleteReleased(ctx context.Context) error {
	volumes, err := p.clientset.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing volumes: %w", err)
	}
	var errs []error
	for _, pv := range volumes.Items {
		if pv.Annotations[annProvisionedBy] != LocalProvisioner || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
			pv.Status.Phase != corev1.VolumeReleased || pv.Spec.HostPath == nil {
			continue
		}
		dir := filepath.Clean(pv.Spec.HostPath.Path)
		if !strings.HasPrefix(dir, p.root+string(filepath.Separator)) {
			continue // not one of ours: never delete outside the volumes directory
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", dir, err))
			continue
		}
		err := p.clientset.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting volume %s: %w", pv.Name, err))
		}
	}
	return errors.Join(errs...)
}

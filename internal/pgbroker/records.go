package pgbroker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Labels and annotations of the objects the broker creates. An instance's record is a
// Secret (holding its superuser password); a binding's record is a Secret (holding its
// credentials) owned by the instance's; a tombstone is a ConfigMap that remembers a
// finished deprovisioning.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "kubia-broker"
	// LabelInstance holds the hash of the instance id (ids may be any string; label
	// values may not).
	LabelInstance = "osb.kubia.dev/instance"
	labelBinding  = "osb.kubia.dev/binding"
	labelRecord   = "osb.kubia.dev/record"
	labelPlan     = "osb.kubia.dev/plan"

	recordInstance  = "instance"
	recordBinding   = "binding"
	recordTombstone = "tombstone"

	annInstanceID = "osb.kubia.dev/instance-id"
	annBindingID  = "osb.kubia.dev/binding-id"
	annServiceID  = "osb.kubia.dev/service-id"
	annPlanID     = "osb.kubia.dev/plan-id"
	annParameters = "osb.kubia.dev/parameters"
	annOperation  = "osb.kubia.dev/operation"
	// The provisioning's organization_guid and space_guid; empty (or absent) on records
	// written before the broker recorded them.
	annOrganizationGUID = "osb.kubia.dev/organization-guid"
	annSpaceGUID        = "osb.kubia.dev/space-guid"
)

// Operation kinds.
const (
	opProvision   = "provision"
	opUpdate      = "update"
	opDeprovision = "deprovision"
)

// operation is an instance's current (or last) asynchronous operation.
type operation struct {
	ID          string      `json:"id"`
	Kind        string      `json:"kind"`
	State       string      `json:"state"`
	Description string      `json:"description,omitempty"`
	Started     metav1.Time `json:"started"`
	// FromPlanID is the plan an update moves away from.
	FromPlanID string `json:"fromPlanID,omitempty"`
	// Interrupted is the id of a provisioning or update a deprovisioning stopped.
	Interrupted string `json:"interrupted,omitempty"`
}

func newOperation(kind string) operation {
	return operation{ID: kind + "-" + randomHex(8), Kind: kind, State: "in progress", Started: metav1.Now()}
}

// instance is an instance's record, decoded.
type instance struct {
	secret     *corev1.Secret
	id         string
	serviceID  string
	planID     string
	parameters map[string]any
	// organizationGUID and spaceGUID are what the platform provisioned it for; empty in
	// records written before the broker recorded them.
	organizationGUID string
	spaceGUID        string
	op               operation
}

// hashID names objects after an id: ids may be long or hold any character.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])[:16]
}

// instanceName is the name of an instance's record Secret and Service.
func instanceName(instanceID string) string { return "pg-" + hashID(instanceID) }

// serverName is the name of an instance's StatefulSet for a plan: changing plans moves
// the data to a new server.
func serverName(instanceID string, p plan) string { return instanceName(instanceID) + "-" + p.name }

func bindingName(instanceID, bindingID string) string {
	return "pgb-" + hashID(instanceID+"/"+bindingID)
}

func tombstoneName(instanceID string) string { return instanceName(instanceID) + "-gone" }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	return hex.EncodeToString(b)
}

// getInstance reads an instance's record; nil when there is none.
func (b *Broker) getInstance(ctx context.Context, instanceID string) (*instance, error) {
	secret := &corev1.Secret{}
	err := b.client.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: instanceName(instanceID)}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the record of instance %s: %w", instanceID, err)
	}
	return decodeInstance(secret)
}

func decodeInstance(secret *corev1.Secret) (*instance, error) {
	a := secret.Annotations
	inst := &instance{secret: secret, id: a[annInstanceID], serviceID: a[annServiceID], planID: a[annPlanID],
		organizationGUID: a[annOrganizationGUID], spaceGUID: a[annSpaceGUID]}
	if err := json.Unmarshal([]byte(a[annOperation]), &inst.op); err != nil {
		return nil, fmt.Errorf("record %s: operation: %w", secret.Name, err)
	}
	if p := a[annParameters]; p != "" {
		if err := json.Unmarshal([]byte(p), &inst.parameters); err != nil {
			return nil, fmt.Errorf("record %s: parameters: %w", secret.Name, err)
		}
	}
	return inst, nil
}

// encode writes the decoded fields back into the record's annotations.
func (inst *instance) encode() error {
	op, err := json.Marshal(inst.op)
	if err != nil {
		return err
	}
	params, err := json.Marshal(inst.parameters)
	if err != nil {
		return err
	}
	a := inst.secret.Annotations
	a[annInstanceID], a[annServiceID], a[annPlanID] = inst.id, inst.serviceID, inst.planID
	a[annOperation], a[annParameters] = string(op), string(params)
	a[annOrganizationGUID], a[annSpaceGUID] = inst.organizationGUID, inst.spaceGUID
	return nil
}

// saveInstance updates the record. The resourceVersion makes concurrent changes by
// another request or broker replica fail with a conflict instead of overwriting.
func (b *Broker) saveInstance(ctx context.Context, inst *instance) error {
	if err := inst.encode(); err != nil {
		return err
	}
	if err := b.client.Update(ctx, inst.secret); err != nil {
		return fmt.Errorf("saving the record of instance %s: %w", inst.id, err)
	}
	return nil
}

// tombstone remembers a deprovisioned instance, so polling its last operation still
// answers "succeeded" for tombstoneTTL.
type tombstone struct {
	operationID string
	expires     time.Time
}

const tombstoneTTL = time.Hour

func (b *Broker) getTombstone(ctx context.Context, instanceID string) (*tombstone, error) {
	cm := &corev1.ConfigMap{}
	err := b.client.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: tombstoneName(instanceID)}, cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the tombstone of instance %s: %w", instanceID, err)
	}
	expires, err := time.Parse(time.RFC3339, cm.Data["expires"])
	if err != nil || cm.Data["instance-id"] != instanceID {
		return nil, nil // not ours, or damaged: as if there were none
	}
	return &tombstone{operationID: cm.Data["operation"], expires: expires}, nil
}

// writeTombstone records, before an instance's objects are deleted, the deprovisioning
// that deletes them.
func (b *Broker) writeTombstone(ctx context.Context, instanceID, operationID string) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: tombstoneName(instanceID), Namespace: b.namespace, Labels: map[string]string{
			LabelManagedBy: managedBy, LabelInstance: hashID(instanceID), labelRecord: recordTombstone,
		}},
		Data: map[string]string{
			"instance-id": instanceID, "operation": operationID,
			"expires": time.Now().Add(tombstoneTTL).UTC().Format(time.RFC3339),
		},
	}
	err := b.client.Create(ctx, cm)
	if apierrors.IsAlreadyExists(err) {
		// An earlier instance of the same id, or this deprovisioning's own retry.
		err = b.client.Patch(ctx, cm, client.Merge)
	}
	if err != nil {
		return fmt.Errorf("writing the tombstone of instance %s: %w", instanceID, err)
	}
	return nil
}

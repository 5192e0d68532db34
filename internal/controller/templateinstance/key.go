package templateinstance

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	mathrand "math/rand"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// keyDataName is the key's entry in its Secret.
const keyDataName = "key"

// Key is a secret kept in a Secret of the controller's namespace, made on first use. Each
// instance's parameter values are generated from a random source seeded with the key's
// HMAC of the instance's UID: an instantiation interrupted by a crash generates the same
// passwords when it starts again, so the objects created before the crash and those
// created after it agree. OpenShift generates new values on every attempt; since the key
// is secret, the values are no more guessable than theirs (math/rand from the clock).
type Key struct {
	// Secret names the Secret holding the key.
	Secret types.NamespacedName
	// Reader reads the Secret past the cache (the controller caches no Secrets).
	Reader client.Reader
	Writer client.Writer

	mu    sync.Mutex
	value []byte
}

// Rand returns the random source of the instance with this UID.
func (k *Key) Rand(ctx context.Context, uid types.UID) (*mathrand.Rand, error) {
	key, err := k.load(ctx)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(uid))
	seed := int64(binary.BigEndian.Uint64(mac.Sum(nil)) >> 1)
	return mathrand.New(mathrand.NewSource(seed)), nil
}

// load reads the key, creating its Secret when there is none.
func (k *Key) load(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.value != nil {
		return k.value, nil
	}
	secret := &corev1.Secret{}
	err := k.Reader.Get(ctx, k.Secret, secret)
	if apierrors.IsNotFound(err) {
		secret, err = k.create(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the key of generated parameter values, Secret %s: %w", k.Secret, err)
	}
	value := secret.Data[keyDataName]
	if len(value) < 32 {
		return nil, fmt.Errorf("the Secret %s holds no %q of 32 bytes or more", k.Secret, keyDataName)
	}
	k.value = value
	return value, nil
}

// create makes the key's Secret, or reads the one another replica made first.
func (k *Key) create(ctx context.Context) (*corev1.Secret, error) {
	value := make([]byte, 32)
	if _, err := rand.Read(value); err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: k.Secret.Name, Namespace: k.Secret.Namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "kubia"}},
		Data: map[string][]byte{keyDataName: value},
	}
	err := k.Writer.Create(ctx, secret)
	if apierrors.IsAlreadyExists(err) {
		err = k.Reader.Get(ctx, k.Secret, secret)
	}
	return secret, err
}

package htpasswd

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hashOf hashes at the lowest cost, which keeps the tests quick.
func hashOf(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestParseKeepsOnlyBcrypt(t *testing.T) {
	data := strings.Join([]string{
		"# a comment",
		"",
		"alice:" + hashOf(t, "wonderland"),
		"  bob:" + hashOf(t, "builder") + "  ",
		"md5user:$apr1$ZkFzXr0I$Xb2jNEi9y0lEr3DQbD9m4/",
		"shauser:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
		"nocolon",
		":nameless",
	}, "\n")
	f, ignored := Parse([]byte(data))
	if got, want := strings.Join(f.Users(), ","), "alice,bob"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
	if got, want := strings.Join(ignored, ","), "md5user,shauser"; got != want {
		t.Errorf("ignored = %s, want %s", got, want)
	}
}

func TestAuthenticate(t *testing.T) {
	f, _ := Parse([]byte("alice:" + hashOf(t, "wonderland") + "\n"))
	cases := []struct {
		user, password string
		want           bool
	}{
		{"alice", "wonderland", true},
		{"alice", "Wonderland", false},
		{"alice", "", false},
		{"alice", "wonderland ", false},
		{"bob", "wonderland", false},
		{"", "", false},
	}
	for _, c := range cases {
		if got := f.Authenticate(c.user, c.password); got != c.want {
			t.Errorf("Authenticate(%q, %q) = %t, want %t", c.user, c.password, got, c.want)
		}
	}
}

// An unknown user costs one bcrypt comparison, as a known one does, so timing does not
// tell which names exist.
func TestUnknownUsersCostAComparison(t *testing.T) {
	f, _ := Parse([]byte("alice:" + hashOf(t, "wonderland") + "\n"))
	var compared [][]byte
	compare = func(hash, password []byte) error {
		compared = append(compared, hash)
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	t.Cleanup(func() { compare = bcrypt.CompareHashAndPassword })
	f.Authenticate("alice", "nope")
	f.Authenticate("mallory", "nope")
	if len(compared) != 2 {
		t.Fatalf("%d comparisons, want one per login", len(compared))
	}
	aliceCost, _ := bcrypt.Cost(compared[0])
	dummyCost, _ := bcrypt.Cost(compared[1])
	if string(compared[1]) != string(dummyHash) || dummyCost < bcrypt.DefaultCost || aliceCost > dummyCost {
		t.Errorf("unknown user compared with %q (cost %d), want the dummy hash of cost >= %d", compared[1], dummyCost, bcrypt.DefaultCost)
	}
}

func TestSetRemoveBytesRoundTrip(t *testing.T) {
	f, _ := Parse(nil)
	if err := f.Set("bob", "builder"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	again, ignored := Parse(f.Bytes())
	if len(ignored) != 0 || !again.Authenticate("alice", "wonderland") || !again.Authenticate("bob", "builder") {
		t.Fatalf("file did not round-trip: %s (ignored %v)", f.Bytes(), ignored)
	}
	if !strings.HasPrefix(string(f.Bytes()), "alice:$2") {
		t.Errorf("lines not sorted by user: %s", f.Bytes())
	}
	if !again.Remove("alice") || again.Remove("alice") || again.Has("alice") {
		t.Error("Remove did not remove alice exactly once")
	}
}

func TestSetRefusesWhatWouldBreakTheFile(t *testing.T) {
	f, _ := Parse(nil)
	for _, name := range []string{"", "a:b", "a b", "a\nb", "a\tb", "a\x7fb"} {
		if err := f.Set(name, "pw"); err == nil {
			t.Errorf("Set(%q) accepted a name that breaks the file", name)
		}
	}
	if err := f.Set("alice", ""); err == nil {
		t.Error("Set accepted an empty password")
	}
}

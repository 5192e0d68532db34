package pgbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A real refused dial, as pgx reports it: the error bind and unbind wait out.
func refusedDial(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	_ = l.Close()
	_, err = pgx.Connect(t.Context(), fmt.Sprintf("host=127.0.0.1 port=%d user=postgres sslmode=disable connect_timeout=1", addr.Port))
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	return err
}

func TestDialFailed(t *testing.T) {
	refused := refusedDial(t)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"refused dial", refused, true},
		{"refused dial, wrapped as not ready", fmt.Errorf("%w: %w", errServerNotReady, refused), true},
		{"connect timeout", fmt.Errorf("dial error: timeout: %w", context.DeadlineExceeded), true},
		{"server refuses: cannot connect now", &pgconn.PgError{Code: pgerrcode.CannotConnectNow}, false},
		{"server refuses: bad password", &pgconn.PgError{Code: pgerrcode.InvalidPassword}, false},
		{"no Service address yet", errServerNotReady, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialFailed(tt.err); got != tt.want {
				t.Errorf("dialFailed(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

package pgbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connectTimeout bounds each connection to an instance's server; a server still
// starting is retried by the next poll, not waited for.
const connectTimeout = 3 * time.Second

// connect opens a superuser session on one of the instance's databases.
func (b *Broker) connect(ctx context.Context, inst *instance, db string) (*pgx.Conn, error) {
	host, err := b.serviceAddress(ctx, inst)
	if err != nil {
		return nil, err
	}
	return b.connectTo(ctx, inst, host, db)
}

// connectTo opens a superuser session on the instance's server at host.
func (b *Broker) connectTo(ctx context.Context, inst *instance, host, db string) (*pgx.Conn, error) {
	// Everything in the connection string (none of it secret), so pgx plans no
	// attempts at other hosts or with TLS, which the servers do not offer.
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=disable connect_timeout=%d",
		host, postgresPort, db, superuser, int(connectTimeout/time.Second)))
	if err != nil {
		return nil, err
	}
	cfg.Password = string(inst.secret.Data["password"])
	conn, err := pgx.ConnectConfig(ctx, cfg)
	// While a server's pod is replaced, its Service may still lead to the old server,
	// shutting down, or to the new one, starting: both refuse with "cannot connect now",
	// for seconds. A request such as an unbind waits that out rather than fail.
	for deadline := time.Now().Add(cannotConnectNowWait); cannotConnectNow(err) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		conn, err = pgx.ConnectConfig(ctx, cfg)
	}
	if err != nil {
		// pgx's errors name the host and user, never the password.
		return nil, fmt.Errorf("%w: %w", errServerNotReady, err)
	}
	return conn, nil
}

// cannotConnectNowWait bounds how long a connection waits for a server that is starting
// up or shutting down.
const cannotConnectNowWait = 10 * time.Second

// connectForRequest opens a session for a request the platform waits on (bind,
// unbind). Right after a server's pod is replaced, kube-proxy may still lead some
// connections through the Service to the old pod's address, where a dial times out or
// is refused, for a few seconds: the request waits that out (within the same bound as
// "cannot connect now") instead of failing a bind the next attempt would make.
// Polls do not wait: the next poll tries again.
func (b *Broker) connectForRequest(ctx context.Context, inst *instance, db string) (*pgx.Conn, error) {
	conn, err := b.connect(ctx, inst, db)
	for deadline := time.Now().Add(cannotConnectNowWait); dialFailed(err) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		conn, err = b.connect(ctx, inst, db)
	}
	return conn, err
}

// dialFailed tells whether a connection failed before reaching any server: a network
// error (refused, unreachable, timed out), as opposed to a server's refusal.
func dialFailed(err error) bool {
	var netErr net.Error
	var pgErr *pgconn.PgError
	return err != nil && !errors.As(err, &pgErr) && (errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded))
}

func cannotConnectNow(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.CannotConnectNow
}

// prepareDatabase creates, once the server accepts connections, the database bindings
// get and the group role that owns it (and inherits what unbound roles leave).
func (b *Broker) prepareDatabase(ctx context.Context, inst *instance) error {
	conn, err := b.connect(ctx, inst, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// A poll and the resync loop may both get here: whoever comes second finds the
	// role and database made.
	if err := execUnlessExists(ctx, conn, "CREATE ROLE "+ident(groupRole)+" NOLOGIN"); err != nil {
		return fmt.Errorf("creating role %s: %w", groupRole, err)
	}
	// The database's owner also owns its public schema (pg_database_owner), so members
	// of the group role may create tables there.
	if err := execUnlessExists(ctx, conn, "CREATE DATABASE "+ident(database)+" OWNER "+ident(groupRole)); err != nil {
		return fmt.Errorf("creating database %s: %w", database, err)
	}
	return nil
}

// execUnlessExists runs a CREATE statement; that the object exists already is success.
func execUnlessExists(ctx context.Context, conn *pgx.Conn, stmt string) error {
	_, err := conn.Exec(ctx, stmt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case pgerrcode.DuplicateObject, pgerrcode.DuplicateDatabase, pgerrcode.UniqueViolation:
			return nil
		}
	}
	return err
}

// createLoginRole creates a binding's role: it logs in with password, and is a member
// of the group role, so it may use the database and whatever other bindings made there.
func (b *Broker) createLoginRole(ctx context.Context, inst *instance, user, password string) error {
	conn, err := b.connectForRequest(ctx, inst, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	exists, err := roleExists(ctx, conn, user)
	if err != nil {
		return err
	}
	statements := []string{
		// Tables the role creates are also the group's, so other bindings can use them.
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + ident(user) + " IN SCHEMA public GRANT ALL ON TABLES TO " + ident(groupRole),
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + ident(user) + " IN SCHEMA public GRANT ALL ON SEQUENCES TO " + ident(groupRole),
	}
	if exists {
		// A retried bind: make sure the password is the one recorded.
		statements = append([]string{"ALTER ROLE " + ident(user) + " LOGIN PASSWORD " + literal(password)}, statements...)
	} else {
		statements = append([]string{"CREATE ROLE " + ident(user) + " LOGIN PASSWORD " + literal(password) + " IN ROLE " + ident(groupRole)}, statements...)
	}
	for _, stmt := range statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			// pgx's errors carry the server's message, never the statement (and so
			// never the password).
			return fmt.Errorf("setting up role %s: %w", user, err)
		}
	}
	return nil
}

// dropLoginRole ends a binding's sessions, gives what it owns to the group role and
// drops it. Dropping a role that is gone already succeeds.
func (b *Broker) dropLoginRole(ctx context.Context, inst *instance, user string) error {
	conn, err := b.connectForRequest(ctx, inst, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	exists, err := roleExists(ctx, conn, user)
	if err != nil {
		return err
	}
	if !exists {
		return nil
	}
	// No new sessions, then end the open ones.
	statements := []string{
		"ALTER ROLE " + ident(user) + " NOLOGIN",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = " + literal(user),
		"REASSIGN OWNED BY " + ident(user) + " TO " + ident(groupRole),
		"DROP OWNED BY " + ident(user),
		"DROP ROLE " + ident(user),
	}
	for _, stmt := range statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("dropping role %s: %w", user, err)
		}
	}
	return nil
}

func roleExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("looking for role %s: %w", name, err)
	}
	return exists, nil
}

// bindingUser is the login role of a binding, a valid unquoted identifier.
func bindingUser(instanceID, bindingID string) string {
	return "binding_" + hashID(instanceID+"/"+bindingID)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal quotes a string as an SQL literal (for statements that take no parameters,
// such as CREATE ROLE ... PASSWORD).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// connectionURI is a binding's postgresql:// URI.
func connectionURI(host, user, password string) string {
	u := url.URL{Scheme: "postgresql", User: url.UserPassword(user, password),
		Host: net.JoinHostPort(host, strconv.Itoa(postgresPort)), Path: "/" + database}
	return u.String()
}

package images

import (
	"fmt"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
	"github.com/kubia-dev/kubia/internal/sourcetree"
)

// syncPort is syncstatus.Port as text, for nginx's configuration (a test checks they agree).
const syncPort = "8081"

// nginxConfig makes nginx run unprivileged: port 8080, pid and temporary files in /tmp,
// logs to the container's output. It serves /usr/share/nginx/html, and passes POSTs to
// /.kubia/sync to the kubia-sync beside it in a Website's pod: the push webhook is then
// reachable wherever the site is (its one node port, its Ingress), without a port of its
// own. Elsewhere nothing listens there and the webhook answers 502.
const nginxConfig = `worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server {
        listen 8080;
        root /usr/share/nginx/html;
        index index.html;
        location / { try_files $uri $uri/ =404; }
        location = ` + syncstatus.SiteWebhookPath + ` {
            limit_except POST { deny all; }
            proxy_pass http://127.0.0.1:` + syncPort + syncstatus.WebhookPath + `;
            proxy_connect_timeout 2s;
        }
    }
}
`

// Nginx is nginx from Debian's nginx-light, running as www-data on port 8080.
func Nginx(cacheDir string) (Image, error) {
	rootfs, key, err := DebianRootFS(cacheDir, "nginx-light")
	if err != nil {
		return Image{}, err
	}
	uid, gid, err := lookupUser(rootfs, "www-data")
	if err != nil {
		return Image{}, err
	}
	return Image{
		Name: "nginx",
		Layers: []Layer{
			TreeLayer{Root: rootfs, Key: key, Skip: skipDebianClutter},
			FilesLayer{
				{Path: "/etc/nginx/nginx.conf", Mode: 0o644, Content: []byte(nginxConfig)},
				{Path: "/tmp", Mode: 0o1777 | dirMode},
			},
		},
		Config: v1.Config{
			// -e: log to stderr from the start, before the configuration is read
			Entrypoint:   []string{"/usr/sbin/nginx", "-e", "stderr", "-g", "daemon off;"},
			User:         fmt.Sprintf("%d:%d", uid, gid),
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			StopSignal:   "SIGQUIT", // graceful: finish serving requests in flight
		},
	}, nil
}

// postgresEntrypoint initializes the database on first start (user and password from
// POSTGRES_USER and POSTGRES_PASSWORD, extra initdb flags from POSTGRES_INITDB_ARGS, a
// database owned by the user from POSTGRES_DB, as the official postgres image does),
// accepts password (SCRAM) connections from anywhere, and runs the server in the
// foreground. PGDATA is a subdirectory of the volume so initdb can own it.
const postgresEntrypoint = `#!/bin/sh
set -eu
bin=/usr/lib/postgresql/15/bin
: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
export PGDATA
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "kubia-postgres: POSTGRES_PASSWORD must be set to initialize the database" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS holds several flags
    "$bin/initdb" --username="${POSTGRES_USER:-postgres}" --pwfile="$pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-}
    rm -f "$pwfile"
    if [ -n "${POSTGRES_DB:-}" ]; then
        # Identifiers in double quotes, their own double quotes doubled: no name can
        # end the statement.
        db=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
        owner=$(printf '%s' "${POSTGRES_USER:-postgres}" | sed 's/"/""/g')
        printf 'CREATE DATABASE "%s" OWNER "%s";\n' "$db" "$owner" |
            "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec "$bin/postgres" -k /tmp
`

// PostgreSQL is PostgreSQL 15 from Debian, running as user postgres on port 5432.
func PostgreSQL(cacheDir string) (Image, error) {
	rootfs, key, err := DebianRootFS(cacheDir, "postgresql-15")
	if err != nil {
		return Image{}, err
	}
	uid, gid, err := lookupUser(rootfs, "postgres")
	if err != nil {
		return Image{}, err
	}
	return Image{
		Name: "postgres",
		Layers: []Layer{
			TreeLayer{Root: rootfs, Key: key, Skip: skipDebianClutter},
			FilesLayer{
				{Path: "/usr/local/bin/kubia-postgres", Mode: 0o755, Content: []byte(postgresEntrypoint)},
				{Path: "/var/lib/postgresql/data", Mode: 0o700 | dirMode, UID: uid, GID: gid},
				{Path: "/tmp", Mode: 0o1777 | dirMode},
			},
		},
		Config: v1.Config{
			Entrypoint:   []string{"/usr/local/bin/kubia-postgres"},
			User:         strconv.Itoa(uid) + ":" + strconv.Itoa(gid),
			Env:          []string{"PGDATA=/var/lib/postgresql/data/pgdata", "LANG=C.UTF-8"},
			ExposedPorts: map[string]struct{}{"5432/tcp": {}},
			StopSignal:   "SIGINT", // PostgreSQL's "fast" shutdown
		},
	}, nil
}

// Router is kubia-router: Debian's HAProxy 2.6 with the kubia-router controller, which
// runs it. It runs as haproxy, listening on unprivileged ports (8080, 8443, 1936: the
// chart maps the node's 80 and 443 to them), with its configuration and sockets in
// /var/lib/kubia-router and /var/run/kubia-router.
func Router(cacheDir string) (Image, error) {
	rootfs, key, err := DebianRootFS(cacheDir, "haproxy", "ca-certificates")
	if err != nil {
		return Image{}, err
	}
	uid, gid, err := lookupUser(rootfs, "haproxy")
	if err != nil {
		return Image{}, err
	}
	root, err := sourcetree.Root()
	if err != nil {
		return Image{}, err
	}
	binary, err := GoBinary(root, "./cmd/kubia-router")
	if err != nil {
		return Image{}, err
	}
	return Image{
		Name: "kubia-router",
		Layers: []Layer{
			TreeLayer{Root: rootfs, Key: key, Skip: skipDebianClutter},
			FilesLayer{
				{Path: "/usr/local/bin/kubia-router", Mode: 0o755, Content: binary},
				{Path: "/var/lib/kubia-router", Mode: 0o700 | dirMode, UID: uid, GID: gid},
				{Path: "/var/run/kubia-router", Mode: 0o700 | dirMode, UID: uid, GID: gid},
			},
		},
		Config: v1.Config{
			Entrypoint: []string{"/usr/local/bin/kubia-router", "--haproxy=/usr/sbin/haproxy",
				"--http-bind=:8080", "--https-bind=:8443", "--stats-bind=:1936"},
			User:         strconv.Itoa(uid) + ":" + strconv.Itoa(gid),
			ExposedPorts: map[string]struct{}{"8080/tcp": {}, "8443/tcp": {}, "1936/tcp": {}},
			// kubia-router stops HAProxy gracefully on SIGTERM: its workers finish their
			// connections.
			StopSignal: "SIGTERM",
		},
	}, nil
}

package pgbroker

import (
	"net/http"

	"github.com/kubia-dev/kubia/internal/osb"
)

// Handler serves the broker's Open Service Broker API behind creds, and /healthz (for
// probes, without credentials).
func (b *Broker) Handler(creds osb.Credentials) (http.Handler, error) {
	api, err := osb.Handler(Catalog(), creds, b, b.log)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.Handle("/", api)
	return mux, nil
}

// Command echoserver is the router tests' backend: it answers every request with its name
// (NAME), the request's path and X-Forwarded-Proto, over HTTP on :8080 and, when
// /etc/echoserver/tls holds tls.crt and tls.key, over HTTPS on :8443 too.
package main

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
)

const tlsDir = "/etc/echoserver/tls"

func main() {
	name := os.Getenv("NAME")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s\n", name, r.URL.Path, r.Header.Get("X-Forwarded-Proto"))
	})
	errs := make(chan error, 2)
	go func() { errs <- http.ListenAndServe(":8080", handler) }()
	if _, err := os.Stat(tlsDir + "/tls.crt"); err == nil {
		go func() { errs <- http.ListenAndServeTLS(":8443", tlsDir+"/tls.crt", tlsDir+"/tls.key", handler) }()
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Fatal(err)
	}
	log.Fatal(<-errs)
}

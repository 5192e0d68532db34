package tokenreview

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/klog/v2"
)

// Path is where kube-apiserver's webhook posts TokenReviews (a path of kubia-apiserver's
// own, outside the aggregated API groups: kube-apiserver calls it directly).
const Path = "/oauth/tokenreview"

// maxBody is the largest TokenReview accepted; a token is a few hundred bytes.
const maxBody = 64 << 10

// Handler answers TokenReviews (authentication.k8s.io/v1, the webhook's default version)
// with what tokens say. Malformed requests get a 4xx and a Status in JSON; tokens are never
// logged.
type Handler struct {
	Tokens authenticator.Token
}

func (h Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	review, err := decode(w, req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	review.Status = h.review(req, review.Spec)
	review.Spec = authenticationv1.TokenReviewSpec{} // the answer does not repeat the token
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(review); err != nil {
		klog.FromContext(req.Context()).Error(err, "Writing a TokenReview")
	}
}

func decode(w http.ResponseWriter, req *http.Request) (*authenticationv1.TokenReview, *apierrors.StatusError) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, apierrors.NewMethodNotSupported(authenticationv1.Resource("tokenreviews"), req.Method)
	}
	if mediaType, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mediaType != "application/json" {
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
			Reason: metav1.StatusReasonUnsupportedMediaType, Message: "a TokenReview is sent as application/json"}}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("a TokenReview is at most %d bytes", maxBody))
		}
		return nil, apierrors.NewBadRequest("reading the request: " + err.Error())
	}
	review := &authenticationv1.TokenReview{}
	if err := json.Unmarshal(body, review); err != nil {
		return nil, apierrors.NewBadRequest("the body is not a TokenReview: " + err.Error())
	}
	if review.APIVersion != authenticationv1.SchemeGroupVersion.String() || review.Kind != "TokenReview" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a TokenReview of %s, got kind %q of %q (configure kube-apiserver with --authentication-token-webhook-version=v1)",
			authenticationv1.SchemeGroupVersion, review.Kind, review.APIVersion))
	}
	if review.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("spec.token is empty")
	}
	return review, nil
}

func (h Handler) review(req *http.Request, spec authenticationv1.TokenReviewSpec) authenticationv1.TokenReviewStatus {
	resp, ok, err := h.Tokens.AuthenticateToken(req.Context(), spec.Token)
	switch {
	case err != nil && !errors.Is(err, errInvalid):
		klog.FromContext(req.Context()).Error(err, "Reviewing a token")
		return authenticationv1.TokenReviewStatus{Error: "kubia-apiserver could not check the token"}
	case err != nil:
		return authenticationv1.TokenReviewStatus{Error: err.Error()}
	case !ok:
		return authenticationv1.TokenReviewStatus{}
	}
	extra := map[string]authenticationv1.ExtraValue{}
	for k, v := range resp.User.GetExtra() {
		extra[k] = v
	}
	return authenticationv1.TokenReviewStatus{
		Authenticated: true, Audiences: spec.Audiences,
		User: authenticationv1.UserInfo{Username: resp.User.GetName(), UID: resp.User.GetUID(), Groups: resp.User.GetGroups(), Extra: extra},
	}
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	status := err.ErrStatus
	status.Kind, status.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(status.Code))
	_ = json.NewEncoder(w).Encode(status)
}

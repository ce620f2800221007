package lptest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// ResignEvent refreshes the App-JWT of a saved API Gateway event: the token's
// claims are kept, iat becomes now and exp an hour later, and it is signed
// again with s (whose public key the account must trust). The sample events
// under events/source-inbound carry tokens that have long expired; replay
// them through this. An event without an Authorization header is returned
// re-encoded but otherwise unchanged.
func ResignEvent(eventJSON []byte, s *Sentinel, now time.Time) ([]byte, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(eventJSON, &ev); err != nil {
		return nil, fmt.Errorf("not an HTTP API event: %w", err)
	}
	for k, v := range ev.Headers {
		if !strings.EqualFold(k, "authorization") {
			continue
		}
		scheme, token, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, errors.New("authorization header is not a bearer token")
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
			return nil, fmt.Errorf("authorization token: %w", err)
		}
		claims["iat"] = now.Unix()
		claims["exp"] = now.Add(time.Hour).Unix()
		t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		t.Header["kid"] = s.KID
		signed, err := t.SignedString(s.Key)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		ev.Headers[k] = "Bearer " + signed
	}
	return EventJSON(ev)
}

// EventJSON encodes an HTTP API event as API Gateway sends it: indented, and
// without the empty mTLS block the Go struct always carries.
func EventJSON(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if rc, ok := m["requestContext"].(map[string]any); ok && ev.RequestContext.Authentication.ClientCert.ClientCertPem == "" {
		delete(rc, "authentication")
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

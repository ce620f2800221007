package sunshine

import (
	"errors"
	"net/http"
	"testing"
)

func TestAuthenticate(t *testing.T) {
	a := testAdapter()
	body := fixture(t, "message_text.json")
	tests := []struct {
		name     string
		header   map[string]string
		creds    []byte // nil: current + previous secret
		wantCode string // "" means accepted
		status   int
	}{
		{"current secret", map[string]string{"X-API-Key": testSecret}, nil, "", 0},
		{"lowercase header from API Gateway", map[string]string{"x-api-key": testSecret}, nil, "", 0},
		{"previous secret during rotation", map[string]string{"X-API-Key": testPrevSecret}, nil, "", 0},
		{"previous secret after rotation", map[string]string{"X-API-Key": testPrevSecret}, credsJSON(t, ""), "bad_api_key", http.StatusUnauthorized},
		{"wrong secret", map[string]string{"X-API-Key": "8564b3e6a8b20a4bdb68b05ce9bc5937"}, nil, "bad_api_key", http.StatusUnauthorized},
		{"secret prefix", map[string]string{"X-API-Key": testSecret[:10]}, nil, "bad_api_key", http.StatusUnauthorized},
		{"secret with suffix", map[string]string{"X-API-Key": testSecret + "x"}, nil, "bad_api_key", http.StatusUnauthorized},
		{"repeated header joined by API Gateway", map[string]string{"X-API-Key": testSecret + "," + testSecret}, nil, "bad_api_key", http.StatusUnauthorized},
		{"missing header", nil, nil, "missing_api_key", http.StatusUnauthorized},
		{"empty header", map[string]string{"X-API-Key": ""}, nil, "missing_api_key", http.StatusUnauthorized},
		{"basic auth instead", map[string]string{"Authorization": "Basic " + testSecret}, nil, "missing_api_key", http.StatusUnauthorized},
		{"no credentials on the account", map[string]string{"X-API-Key": testSecret}, []byte{}, "account_misconfigured", http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acct := account(t, "", nil)
			if tc.creds != nil {
				acct.Credentials = tc.creds
			}
			err := a.Authenticate(request(body, tc.header), acct, testNow)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			wantAPIError(t, err, tc.status, tc.wantCode)
		})
	}
}

func TestVerifyAPIKey(t *testing.T) {
	if err := VerifyAPIKey("a", []string{"", "a"}); err != nil {
		t.Fatalf("second secret not accepted: %v", err)
	}
	if err := VerifyAPIKey("", []string{""}); !errors.Is(err, ErrMissingAPIKey) {
		t.Fatalf("empty key: %v", err)
	}
	if err := VerifyAPIKey("a", []string{"", ""}); !errors.Is(err, ErrBadAPIKey) {
		t.Fatalf("empty secrets must match nothing: %v", err)
	}
	if err := VerifyAPIKey("a", nil); !errors.Is(err, ErrBadAPIKey) {
		t.Fatalf("no secrets must match nothing: %v", err)
	}
}

func TestRoute(t *testing.T) {
	a := testAdapter()
	tests := []struct {
		name, method, proxy string
		status              int
		code                string
	}{
		{"post", http.MethodPost, "", 0, ""},
		{"get", http.MethodGet, "", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"put", http.MethodPut, "", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"sub-path", http.MethodPost, "events", http.StatusNotFound, "route_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request(nil, nil)
			req.Method = tc.method
			if tc.proxy != "" {
				req.Params["proxy"] = tc.proxy
			}
			err := a.Route(req)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantAPIError(t, err, tc.status, tc.code)
		})
	}
}

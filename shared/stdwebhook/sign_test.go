package stdwebhook

import (
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks reference test vector.
const (
	vecSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTimestamp = "1614265330"
	vecUnix      = 1614265330
	vecBody      = `{"test": 2432232314}`
	vecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignVector(t *testing.T) {
	key := mustSecret(t, vecSecret)
	got := Sign(key, vecID, time.Unix(vecUnix, 0), []byte(vecBody))
	if got != vecSignature {
		t.Fatalf("Sign = %q, want %q", got, vecSignature)
	}
}

func TestSignTruncatesToSeconds(t *testing.T) {
	key := mustSecret(t, vecSecret)
	got := Sign(key, vecID, time.Unix(vecUnix, 999_999_999), []byte(vecBody))
	if got != vecSignature {
		t.Fatalf("Sign with sub-second time = %q, want %q", got, vecSignature)
	}
}

func TestHeaders(t *testing.T) {
	key := mustSecret(t, vecSecret)
	h := Headers(key, vecID, time.Unix(vecUnix, 0).In(time.FixedZone("x", 3600)), []byte(vecBody))
	want := map[string]string{
		HeaderID:        vecID,
		HeaderTimestamp: vecTimestamp,
		HeaderSignature: vecSignature,
	}
	if len(h) != len(want) {
		t.Fatalf("Headers = %v, want %v", h, want)
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("Headers[%q] = %q, want %q", k, h[k], v)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	key := mustSecret(t, vecSecret)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	bodies := [][]byte{nil, {}, []byte("{}"), []byte(strings.Repeat("x", 1<<16)), {0, 0xff, '.', ' '}}
	for _, body := range bodies {
		h := Headers(key, "msg_round_trip", now, body)
		err := Verify([]Secret{key}, h[HeaderID], h[HeaderTimestamp], h[HeaderSignature], body, now, 0)
		checkErr(t, err, nil)
	}
}

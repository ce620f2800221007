package stdwebhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, n)) }
	raw := func(n int) string { return base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, n)) }
	tests := []struct {
		name    string
		in      string
		wantLen int // decoded length when no error is expected
		wantErr bool
		errText string // substring the error message must contain
	}{
		{name: "spec vector with prefix", in: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantLen: 24},
		{name: "spec vector without prefix", in: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantLen: 24},
		{name: "32 bytes padded", in: "whsec_" + b64(32), wantLen: 32},
		{name: "32 bytes unpadded", in: "whsec_" + raw(32), wantLen: 32},
		{name: "25 bytes padded", in: b64(25), wantLen: 25},
		{name: "25 bytes unpadded", in: raw(25), wantLen: 25},
		{name: "64 bytes is the maximum", in: "whsec_" + b64(64), wantLen: 64},
		{name: "surrounding whitespace ignored", in: " whsec_" + b64(32) + "\n", wantLen: 32},
		{name: "empty", in: "", wantErr: true, errText: "empty"},
		{name: "blank", in: " \n", wantErr: true, errText: "empty"},
		{name: "prefix only", in: "whsec_", wantErr: true, errText: "empty"},
		{name: "too short", in: "whsec_" + b64(23), wantErr: true, errText: "decoded length 23"},
		{name: "too long", in: "whsec_" + b64(65), wantErr: true, errText: "decoded length 65"},
		{name: "bad base64 character", in: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La*aSw", wantErr: true, errText: "base64"},
		{name: "url-safe alphabet refused", in: "whsec_" + strings.Repeat("-_", 16), wantErr: true, errText: "base64"},
		{name: "bad padding", in: "whsec_" + b64(32)[:43] + "==", wantErr: true, errText: "base64"},
		{name: "prefix twice", in: "whsec_whsec_" + b64(32), wantErr: true, errText: "base64"},
		{name: "wrong prefix case", in: "WHSEC_" + b64(32), wantErr: true, errText: "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSecret(tt.in)
			if !tt.wantErr {
				checkErr(t, err, nil)
				if len(got) != tt.wantLen {
					t.Fatalf("decoded %d bytes, want %d", len(got), tt.wantLen)
				}
				return
			}
			checkErr(t, err, ErrBadSecret)
			if got != nil {
				t.Errorf("got key %x with error", got)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.errText) {
				t.Errorf("error %q does not mention %q", msg, tt.errText)
			}
			if body := strings.TrimPrefix(strings.TrimSpace(tt.in), "whsec_"); body != "" && strings.Contains(msg, body) {
				t.Errorf("error %q leaks the secret", msg)
			}
		})
	}
}

func TestParseSecretDecodesKeyBytes(t *testing.T) {
	want := []byte("0123456789abcdefghijklmnopqrstuv")
	got := mustSecret(t, "whsec_"+base64.StdEncoding.EncodeToString(want))
	if !bytes.Equal(got, want) {
		t.Fatalf("key = %q, want %q", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	t.Run("deterministic reader", func(t *testing.T) {
		src := bytes.Repeat([]byte{7}, 100)
		s, err := NewSecret(bytes.NewReader(src))
		checkErr(t, err, nil)
		if !strings.HasPrefix(s, "whsec_") {
			t.Fatalf("secret %q lacks whsec_ prefix", s)
		}
		key := mustSecret(t, s)
		if !bytes.Equal(key, src[:32]) {
			t.Fatalf("key = %x, want 32 bytes of 07", key)
		}
	})
	t.Run("crypto/rand when nil", func(t *testing.T) {
		a, err := NewSecret(nil)
		checkErr(t, err, nil)
		b, err := NewSecret(nil)
		checkErr(t, err, nil)
		if a == b {
			t.Fatal("two generated secrets are equal")
		}
		if k := mustSecret(t, a); len(k) != 32 {
			t.Fatalf("key length %d, want 32", len(k))
		}
	})
	t.Run("short reader", func(t *testing.T) {
		_, err := NewSecret(bytes.NewReader(make([]byte, 31)))
		if err == nil {
			t.Fatal("want error for a reader with 31 bytes")
		}
	})
	t.Run("failing reader", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := NewSecret(iotest.ErrReader(boom))
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want it to wrap the reader error", err)
		}
	})
}

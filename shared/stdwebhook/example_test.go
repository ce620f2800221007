package stdwebhook_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/crmbridge/crmbridge/shared/stdwebhook"
)

func Example() {
	secret, err := stdwebhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	body := []byte(`{"test": 2432232314}`)
	sent := time.Unix(1614265330, 0)

	// Sender side.
	h := stdwebhook.Headers(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent, body)
	fmt.Println(h[stdwebhook.HeaderSignature])

	// Receiver side, one minute later.
	now := sent.Add(time.Minute)
	err = stdwebhook.Verify([]stdwebhook.Secret{secret},
		h[stdwebhook.HeaderID], h[stdwebhook.HeaderTimestamp], h[stdwebhook.HeaderSignature],
		body, now, 0)
	fmt.Println(err)

	// A replay an hour later is refused.
	err = stdwebhook.Verify([]stdwebhook.Secret{secret},
		h[stdwebhook.HeaderID], h[stdwebhook.HeaderTimestamp], h[stdwebhook.HeaderSignature],
		body, sent.Add(time.Hour), 0)
	fmt.Println(errors.Is(err, stdwebhook.ErrTooOld))
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
	// <nil>
	// true
}

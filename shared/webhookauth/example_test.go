package webhookauth_test

import (
	"fmt"
	"net/http"

	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

func Example() {
	scheme := webhookauth.Scheme{Kind: webhookauth.SchemeHeader, Prefix: "Bearer "}
	if err := scheme.Validate(); err != nil {
		panic(err)
	}
	// During a rotation both the old and the new secret are accepted.
	secrets := []string{"old-secret", "new-secret"}

	h := http.Header{}
	h.Set("Authorization", "bearer new-secret")
	err := webhookauth.Verify(scheme, secrets, webhookauth.Request{Header: h.Get, Body: []byte("{}")})
	fmt.Println(err)

	h.Set("Authorization", "Bearer new-secret, Bearer new-secret")
	err = webhookauth.Verify(scheme, secrets, webhookauth.Request{Header: h.Get, Body: []byte("{}")})
	fmt.Println(err)
	// Output:
	// <nil>
	// webhook auth: header Authorization does not match: webhookauth: credential mismatch
}

func ExampleScheme_Validate() {
	err := webhookauth.Scheme{Kind: webhookauth.SchemeHMAC, Encoding: "base32"}.Validate()
	fmt.Println(err)
	// Output: webhookAuth.encoding: must be hex or base64
}

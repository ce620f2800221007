package app

import (
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := ConfigFromEnv(env(map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s", "ULTIMATE_BASE_URL": "https://x.example/", "DEAD_LETTER_TTL_DAYS": "3"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.UltimateBaseURL != "https://x.example" || c.DeadLetterTTL != 72*time.Hour || c.ConfigTTL != time.Minute || c.LogLevel != "INFO" {
		t.Fatalf("config = %+v", c)
	}
	if _, err := ConfigFromEnv(env(map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s", "SECRETS_PREFIX": "crmbridge/"})); err != nil {
		t.Fatalf("the fixed prefix spelt out: %v", err)
	}
	_, err = ConfigFromEnv(env(map[string]string{"CONFIG_TTL_SECONDS": "soon", "SECRETS_PREFIX": "staging/"}))
	for _, want := range []string{"TENANTS_TABLE is required", "STATE_TABLE is required", `CONFIG_TTL_SECONDS must be a positive integer, got "soon"`,
		`SECRETS_PREFIX is not configurable: secret names always start with crmbridge/ (got "staging/")`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q (all problems are reported at once)", err, want)
		}
	}
}

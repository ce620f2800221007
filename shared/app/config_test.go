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
	if c.UltimateBaseURL != "https://x.example" || c.DeadLetterTTL != 72*time.Hour || c.ConfigTTL != time.Minute || c.LogLevel != "INFO" || c.SecretsPrefix != "crmbridge/" {
		t.Fatalf("config = %+v", c)
	}
	_, err = ConfigFromEnv(env(map[string]string{"CONFIG_TTL_SECONDS": "soon"}))
	for _, want := range []string{"TENANTS_TABLE is required", "STATE_TABLE is required", `CONFIG_TTL_SECONDS must be a positive integer, got "soon"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q (all problems are reported at once)", err, want)
		}
	}
}

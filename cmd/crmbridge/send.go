package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

type kvFlag map[string]string

func (k kvFlag) String() string { return fmt.Sprint(map[string]string(k)) }
func (k kvFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "=")
	if !ok || a == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	k[a] = b
	return nil
}

func runSend(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	api := fs.String("api", "http://127.0.0.1:3000", "base URL of the bridge's HTTP API")
	account := fs.String("account", "demo", "generic source account")
	conv := fs.String("conversation", "c-1", "conversation ID")
	typ := fs.String("type", generic.TypeMessage, "event type: message, conversation.started, conversation.ended, metadata, conversation.handedBack, agent.joined, agent.message, agent.left")
	card := fs.Int("card-index", -1, "carousel card index of a button click")
	secretFile := fs.String("secret-file", "", "the account's secret file (default events/tenant/secret-source-generic-ACCOUNT.json)")
	wait := fs.Duration("wait", 3*time.Second, "how long to wait for replies at the demo desk (0: don't)")
	user, params := kvFlag{}, kvFlag{}
	fs.Var(user, "user", "user field key=value (repeatable)")
	fs.Var(params, "param", "session parameter key=value (repeatable)")
	// Flags may come before or after the text.
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		words = append(words, fs.Arg(0))
		args = fs.Args()[1:]
	}
	text := strings.Join(words, " ")
	if *secretFile == "" {
		*secretFile = filepath.Join("events", "tenant", "secret-source-generic-"+*account+".json")
	}
	sf, err := tenant.ReadSecretFile(*secretFile)
	if err != nil {
		return fmt.Errorf("read the account's secret (--secret-file): %w", err)
	}
	var creds generic.Credentials
	if err := json.Unmarshal([]byte(sf.SecretString), &creds); err != nil {
		return fmt.Errorf("secret file: %w", err)
	}
	secret, err := stdwebhook.ParseSecret(creds.InboundSecret)
	if err != nil {
		return fmt.Errorf("inboundSecret: %w", err)
	}
	data := generic.InboundData{ConversationID: *conv, Text: text}
	if len(user) > 0 {
		data.User = user
	}
	if len(params) > 0 {
		data.Parameters = params
	}
	if *card >= 0 {
		data.CardIndex = card
	}
	if *typ == generic.TypeAgentJoined {
		data.Agent = &generic.AgentInfo{Name: text}
		data.Text = ""
	}
	now := time.Now()
	body, err := generic.NewEvent(*typ, data, now)
	if err != nil {
		return err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := "evt_" + hex.EncodeToString(b[:])
	before := inboxLen(ctx, *api, *conv)
	status, resp, err := generic.Post(ctx, &http.Client{Timeout: 30 * time.Second}, *api+"/sources/generic/"+*account, secret, id, body, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "→ %s %s (webhook-id %s): HTTP %d %s\n", *typ, *conv, id, status, strings.TrimSpace(string(resp)))
	if status >= 300 || *wait <= 0 || before < 0 {
		return nil
	}
	// Show what reached the demo desk for this conversation since.
	deadline := time.Now().Add(*wait)
	shown := before
	for time.Now().Before(deadline) {
		entries := inbox(ctx, *api, *conv)
		for _, e := range entries[min(shown, len(entries)):] {
			fmt.Fprintf(stdout, "← %s\n", describe(e))
		}
		shown = max(shown, len(entries))
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

func inbox(ctx context.Context, api, conv string) []localstack.InboxEntry {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/demo/inbox?conversation="+conv, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []localstack.InboxEntry
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out
}

// inboxLen is -1 when there is no demo desk (a deployed bridge).
func inboxLen(ctx context.Context, api, conv string) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/demo/inbox?conversation="+conv, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var out []localstack.InboxEntry
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return -1
	}
	return len(out)
}

func describe(e localstack.InboxEntry) string {
	var d struct {
		Message    json.RawMessage `json:"message"`
		EscalateTo string          `json:"escalateTo"`
		Name       string          `json:"name"`
		Text       string          `json:"text"`
	}
	_ = json.Unmarshal(e.Data, &d)
	switch e.Type {
	case generic.OutMessage:
		return "message " + string(d.Message)
	case generic.OutEscalation:
		return "escalation.requested (escalateTo " + d.EscalateTo + ")"
	case generic.OutAction:
		return "action " + d.Name
	default:
		return e.Type + " " + string(e.Data)
	}
}

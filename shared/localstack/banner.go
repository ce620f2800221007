package localstack

import (
	"cmp"
	"sort"

	"github.com/crmbridge/crmbridge/shared/motoserver"
)

// Server is one server the local stack runs or uses, for the banner.
type Server struct {
	Name string
	URL  string
	Note string
}

// Servers lists every server of the stack, each on the address its option
// gave (":0" ones on the free port they got). A server added to the stack
// is added here, so `make run`'s banner names it.
func (st *Stack) Servers() []Server {
	out := []Server{{Name: "HTTP API", URL: st.API, Note: "the deployed routes, plus the demo desk under /demo/"},
		{Name: "playground", URL: st.API + PlaygroundPath, Note: "open in a browser: chat as the demo tenant's visitor and desk"}}
	if st.AgentURL != "" {
		out = append(out, Server{Name: "AI agent", URL: st.AgentURL, Note: "fake (shared/ultimate/ultimatetest), agent " + DemoAgentID})
	} else {
		out = append(out, Server{Name: "AI agent", URL: st.Opts.AgentBaseURL, Note: "real (ULTIMATE_BASE_URL)"})
	}
	if st.Moto != nil {
		out = append(out, Server{Name: "moto_server", URL: st.Moto.URL, Note: "DynamoDB and Secrets Manager, started for this stack"})
	} else {
		out = append(out, Server{Name: "AWS emulator", URL: st.Endpoint, Note: "given (AWS_ENDPOINT_URL)"})
	}
	if st.Fauxqs != nil {
		out = append(out, Server{Name: "SQS (fauxqs)", URL: st.SQSEndpoint, Note: "inbound and outbound FIFO queues, polled into the handlers as Lambda would"})
	} else if st.SQSEndpoint != "" {
		out = append(out, Server{Name: "SQS emulator", URL: st.SQSEndpoint, Note: "given (AWS_ENDPOINT_URL_SQS)"})
	}
	if st.Sunshine != nil {
		out = append(out, Server{Name: "Sunshine API", URL: st.Sunshine.URL(), Note: "fake, demo app " + DemoSunshineApp})
	}
	if st.LivePerson != nil {
		out = append(out, Server{Name: "LivePerson API", URL: st.LivePersonURL, Note: "fake Public API, demo account 90412077"})
	}
	if st.Twilio != nil {
		out = append(out, Server{Name: "Twilio API", URL: st.TwilioURL, Note: "fake Messages API, demo SMS and WhatsApp accounts"})
	}
	return out
}

// EnvVar is one variable of the CLI's environment.
type EnvVar struct{ Key, Value string }

// CLIEnv is the exact environment `crmbridge` commands need to work on this
// stack and nothing else: the emulator's endpoint and dummy credentials,
// the tables, the AI agent (so nothing falls back to the public one), the
// local egress mode, the API.
func (st *Stack) CLIEnv() []EnvVar {
	aws := (&motoserver.Server{URL: st.Endpoint}).Env()
	keys := make([]string, 0, len(aws))
	for k := range aws {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []EnvVar
	for _, k := range keys {
		out = append(out, EnvVar{k, aws[k]})
	}
	return append(out,
		EnvVar{"AWS_ENDPOINT_URL_SQS", st.SQSEndpoint},
		EnvVar{"INBOUND_QUEUE_URL", st.Queues.Inbound},
		EnvVar{"OUTBOUND_QUEUE_URL", st.Queues.Outbound},
		EnvVar{"TENANTS_TABLE", st.Opts.TenantsTable},
		EnvVar{"STATE_TABLE", st.Opts.StateTable},
		EnvVar{"ULTIMATE_BASE_URL", cmp.Or(st.AgentURL, st.Opts.AgentBaseURL)},
		EnvVar{"STAGE", "local"},
		EnvVar{"EGRESS_LOCAL", "1"},
		EnvVar{"CRMBRIDGE_API", st.API},
	)
}

// CLIUnset are the variables the CLI's environment must not have on the
// local stack: a profile's or a session's credentials would mix with the
// emulator's.
var CLIUnset = []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"}

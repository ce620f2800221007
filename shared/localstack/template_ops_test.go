package localstack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/route"
)

// The operations part of template.yaml (alarms, dashboard, deployment
// options) against the code: every metric it reads is one the code emits,
// with the dimensions it emits it with; every route has its 5xx alarm; the
// template translates with every option.

// emitted is one metric call found in the code.
type emitted struct {
	name string
	dims []string // the call's own dimension keys, sorted (Service comes on top)
	at   string   // file:line
	pkg  string   // the package directory, relative to the repository
}

// emitters says which functions run each package that emits metrics: the
// Service dimension they emit under. A package not listed fails the test:
// add it, with the functions whose handlers run it.
var emitters = map[string][]string{
	"shared/apigw":      route.Functions, // the skeleton of every function
	"shared/inbound":    {route.SourceInbound},
	"shared/message":    {route.WebhookMessage},
	"shared/escalation": {route.WebhookEscalation},
	"shared/action":     {route.WebhookAction},
	"shared/ultimate":   {route.SourceInbound}, // the AI agent client; the inbound handler holds it
	"shared/handover":   {route.WebhookEscalation},
	// The adapter's inbound JWT check.
	"shared/source/liveperson": {route.SourceInbound},
}

// codeMetrics reads every metrics call (x.Metrics.Count/Millis) of the
// non-test code. Names and dimension keys must be literals, so they can be
// read here; anything else fails the test.
func codeMetrics(t *testing.T) []emitted {
	t.Helper()
	var out []emitted
	fset := token.NewFileSet()
	for _, root := range []string{"../../shared", "../../functions", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel("../..", filepath.Dir(path))
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Count" && sel.Sel.Name != "Millis") || !receiverIsMetrics(sel.X) {
					return true
				}
				at := fset.Position(call.Pos()).String()
				if len(call.Args) != 3 {
					t.Errorf("%s: a metrics call with %d arguments", at, len(call.Args))
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: the metric name must be a string literal (the template test reads it)", at)
					return true
				}
				name, _ := strconv.Unquote(lit.Value)
				e := emitted{name: name, at: at, pkg: filepath.ToSlash(rel)}
				switch a := call.Args[2].(type) {
				case *ast.Ident:
					if a.Name != "nil" {
						t.Errorf("%s: the dimensions must be nil or a map literal with literal keys", at)
					}
				case *ast.CompositeLit:
					for _, elt := range a.Elts {
						kv, ok := elt.(*ast.KeyValueExpr)
						k, ok2 := kv.Key.(*ast.BasicLit)
						if !ok || !ok2 || k.Kind != token.STRING {
							t.Errorf("%s: a dimension key that is not a string literal", at)
							continue
						}
						key, _ := strconv.Unquote(k.Value)
						e.dims = append(e.dims, key)
					}
				default:
					t.Errorf("%s: the dimensions must be nil or a map literal with literal keys", at)
				}
				sort.Strings(e.dims)
				out = append(out, e)
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func receiverIsMetrics(x ast.Expr) bool {
	switch r := x.(type) {
	case *ast.SelectorExpr:
		return r.Sel.Name == "Metrics"
	case *ast.Ident:
		return r.Name == "Metrics"
	}
	return false
}

// metricRef is a metric the template reads.
type metricRef struct {
	where     string
	namespace string
	name      string
	dims      map[string]string // key → value ("*" when a SEARCH leaves it open)
}

// scalar is a node's string: a plain scalar, or the argument of a !Sub or
// !Ref (written back as ${X} for a !Ref).
func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Tag == "!Ref" {
		return "${" + n.Value + "}"
	}
	return n.Value
}

// searchRE reads a SEARCH schema: {namespace,dimension...} MetricName="x";
// a namespace with special characters is quoted.
var searchRE = regexp.MustCompile(`\{(?:"([^"]+)"|([^",{}]+))((?:,[A-Za-z]+)*)\} MetricName="([A-Za-z0-9]+)"`)

// templateMetrics collects every metric of the alarms and the dashboard.
func templateMetrics(t *testing.T) []metricRef {
	t.Helper()
	tpl := loadTemplate(t)
	var refs []metricRef
	names := make([]string, 0, len(tpl.Resources))
	for n := range tpl.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, logical := range names {
		res := tpl.Resources[logical]
		p := &res.Properties
		switch res.Type {
		case "AWS::CloudWatch::Alarm":
			metric := func(where string, m *yaml.Node) {
				r := metricRef{where: where, namespace: scalar(get(m, "Namespace")), name: scalar(get(m, "MetricName")), dims: map[string]string{}}
				if ds := get(m, "Dimensions"); ds != nil {
					for _, d := range ds.Content {
						r.dims[scalar(get(d, "Name"))] = scalar(get(d, "Value"))
					}
				}
				refs = append(refs, r)
			}
			if get(p, "MetricName") != nil {
				metric(logical, p)
			}
			if ms := get(p, "Metrics"); ms != nil {
				for _, m := range ms.Content {
					if st := get(m, "MetricStat", "Metric"); st != nil {
						metric(logical+"/"+scalar(get(m, "Id")), st)
					}
				}
			}
		case "AWS::CloudWatch::Dashboard":
			body := get(p, "DashboardBody")
			if body == nil || body.Tag != "!Sub" {
				t.Fatalf("%s: DashboardBody must be a !Sub string", logical)
			}
			var d struct {
				Widgets []struct {
					Properties struct {
						Title   string            `json:"title"`
						Metrics []json.RawMessage `json:"metrics"`
					} `json:"properties"`
				} `json:"widgets"`
			}
			if err := json.Unmarshal([]byte(body.Value), &d); err != nil {
				t.Fatalf("%s: DashboardBody is not JSON: %v", logical, err)
			}
			for _, w := range d.Widgets {
				for _, raw := range w.Properties.Metrics {
					var arr []any
					if err := json.Unmarshal(raw, &arr); err != nil || len(arr) == 0 {
						t.Fatalf("dashboard widget %q: metric %s is not an array", w.Properties.Title, raw)
					}
					where := "dashboard/" + w.Properties.Title
					if obj, ok := arr[0].(map[string]any); ok && len(arr) == 1 {
						expr, _ := obj["expression"].(string)
						ms := searchRE.FindAllStringSubmatch(expr, -1)
						if !strings.HasPrefix(expr, "SEARCH(") || len(ms) != 1 {
							t.Errorf("%s: expression %q is not one SEARCH the test can read", where, expr)
							continue
						}
						r := metricRef{where: where, namespace: ms[0][1] + ms[0][2], name: ms[0][4], dims: map[string]string{}}
						for _, k := range strings.Split(strings.TrimPrefix(ms[0][3], ","), ",") {
							if k != "" {
								r.dims[k] = "*"
							}
						}
						refs = append(refs, r)
						continue
					}
					r := metricRef{where: where, dims: map[string]string{}}
					var strs []string
					for _, v := range arr {
						if s, ok := v.(string); ok {
							strs = append(strs, s)
						}
					}
					if len(strs) < 2 || len(strs)%2 != 0 {
						t.Errorf("%s: metric %s is not [namespace, name, key, value...]", where, raw)
						continue
					}
					r.namespace, r.name = strs[0], strs[1]
					for i := 2; i+1 < len(strs); i += 2 {
						r.dims[strs[i]] = strs[i+1]
					}
					refs = append(refs, r)
				}
			}
		}
	}
	return refs
}

func TestTemplateMetricsAreWhatTheCodeEmits(t *testing.T) {
	code := codeMetrics(t)
	if len(code) < 10 {
		t.Fatalf("found only %d metrics calls in the code: the scan is broken", len(code))
	}
	tpl := loadTemplate(t)
	nsNode := tpl.Globals.Function.Environment.Variables["METRICS_NAMESPACE"]
	ns := scalar(&nsNode)
	if ns != "crmbridge/${AWS::StackName}" {
		t.Fatalf("Globals METRICS_NAMESPACE is %q, want crmbridge/${AWS::StackName}", ns)
	}
	byName := map[string][]emitted{}
	for _, e := range code {
		if _, ok := emitters[e.pkg]; !ok {
			t.Errorf("%s emits %s from %s, which the test's emitters table does not know: add the functions that run it", e.at, e.name, e.pkg)
		}
		byName[e.name] = append(byName[e.name], e)
	}
	onDashboard := map[string]bool{}
	for _, r := range templateMetrics(t) {
		if strings.HasPrefix(r.namespace, "AWS/") {
			continue
		}
		if r.namespace != ns {
			t.Errorf("%s: namespace %q, want the functions' %q", r.where, r.namespace, ns)
			continue
		}
		calls, ok := byName[r.name]
		if !ok {
			t.Errorf("%s: metric %s is emitted nowhere in the code", r.where, r.name)
			continue
		}
		svc, hasSvc := r.dims["Service"]
		if !hasSvc {
			t.Errorf("%s: %s without the Service dimension matches no metric (every record has it)", r.where, r.name)
			continue
		}
		var keys []string
		for k := range r.dims {
			if k != "Service" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		// A record is published under [Service, its keys...] and [Service].
		match := slices.ContainsFunc(calls, func(e emitted) bool {
			if len(keys) > 0 && !slices.Equal(keys, e.dims) {
				return false
			}
			return svc == "*" || slices.Contains(emitters[e.pkg], svc)
		})
		if !match {
			var have []string
			for _, e := range calls {
				have = append(have, fmt.Sprintf("%v from %v (%s)", e.dims, emitters[e.pkg], e.at))
			}
			t.Errorf("%s: %s with dimensions %v: the code emits it with Service plus %s", r.where, r.name, r.dims, strings.Join(have, "; "))
		}
		if strings.HasPrefix(r.where, "dashboard/") {
			onDashboard[r.name] = true
		}
	}
	for name, calls := range byName {
		if !onDashboard[name] {
			t.Errorf("%s (%s) is on no dashboard widget", name, calls[0].at)
		}
	}
}

// Every route of the code has its 5xx-rate alarm on exactly its key.
func TestTemplateRouteAlarmsCoverEveryRoute(t *testing.T) {
	alarmed := map[string]string{}
	for _, r := range templateMetrics(t) {
		if r.namespace == "AWS/ApiGateway" && r.name == "5xx" && strings.HasPrefix(r.where, "Route5xx") {
			if r.dims["ApiId"] != "${HttpApi}" || r.dims["Stage"] != "${Stage}" {
				t.Errorf("%s: dimensions %v, want this stack's API and stage", r.where, r.dims)
			}
			alarmed[r.dims["Route"]] = r.where
		}
	}
	for _, rt := range route.Table {
		key := rt.Key()
		if rt.Method == apigw.DefaultRoute {
			key = apigw.DefaultRoute
		}
		if _, ok := alarmed[key]; !ok {
			t.Errorf("route %s has no Route5xx alarm", key)
		}
		delete(alarmed, key)
	}
	for k, where := range alarmed {
		t.Errorf("%s alarms on route %q, which the code does not have", where, k)
	}
	tpl := loadTemplate(t)
	api := tpl.Resources["HttpApi"].Properties
	if v := get(&api, "DefaultRouteSettings", "DetailedMetricsEnabled"); v == nil || v.Value != "true" {
		t.Error("HttpApi needs DefaultRouteSettings.DetailedMetricsEnabled: the per-route metrics the alarms read")
	}
}

// Lambda's log filters: the application level is LOG_LEVEL's (metrics are
// marked to pass it), and the system level keeps the REPORT lines.
func TestTemplateLogLevels(t *testing.T) {
	tpl := loadTemplate(t)
	b, _ := os.ReadFile("../../template.yaml")
	var raw struct {
		Globals struct {
			Function struct {
				LoggingConfig map[string]yaml.Node `yaml:"LoggingConfig"`
				AutoPublish   string               `yaml:"AutoPublishAlias"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
	}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	lc := raw.Globals.Function.LoggingConfig
	app, sys := lc["ApplicationLogLevel"], lc["SystemLogLevel"]
	logLevel := tpl.Globals.Function.Environment.Variables["LOG_LEVEL"]
	if scalar(&app) != "${LogLevel}" || scalar(&logLevel) != "${LogLevel}" {
		t.Errorf("ApplicationLogLevel %q and LOG_LEVEL %q must both be the LogLevel parameter", scalar(&app), scalar(&logLevel))
	}
	if sys.Value != "INFO" && sys.Value != "DEBUG" {
		t.Errorf("SystemLogLevel %q drops the REPORT lines (they are INFO)", sys.Value)
	}
	// The single URL invokes the alias AutoPublishAlias makes.
	msg := tpl.Resources["WebhookMessageFunction"].Properties
	for _, k := range []string{"ESCALATION_FUNCTION", "ACTION_FUNCTION"} {
		if v := scalar(get(&msg, "Environment", "Variables", k)); !strings.HasSuffix(v, ":"+raw.Globals.Function.AutoPublish) || raw.Globals.Function.AutoPublish == "" {
			t.Errorf("%s is %q, want the function's %q alias", k, v, raw.Globals.Function.AutoPublish)
		}
	}
}

// The template translates with the SAM translator (what sam deploy and
// CloudFormation run), with its defaults and with every option on.
func TestTemplateTranslates(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed (make test installs cfn-lint, which brings the SAM translator)")
	}
	if err := exec.Command("python3", "-c", "import samtranslator").Run(); err != nil {
		t.Skip("the python package aws-sam-translator is missing (make test installs cfn-lint, which brings it)")
	}
	cases := []struct {
		name   string
		params []string
		check  func(t *testing.T, res map[string]cfnResource)
	}{
		{"defaults", nil, func(t *testing.T, res map[string]cfnResource) {
			if _, ok := res["ApiDomain"]; !ok {
				t.Error("the conditional ApiDomain is missing from the translation")
			}
		}},
		{"every option", []string{
			"DomainName=bridge.example.com", "CertificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
			"HostedZoneId=Z0123456789ABC", "Tracing=Active", "ReservedConcurrency=5", "DeploymentType=Linear10PercentEvery1Minute",
			"AlarmEmail=ops@example.com", "AlarmTopicArn=arn:aws:sns:eu-west-1:123456789012:pager",
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("python3", append([]string{"../../.ci/sam-translate", "../../template.yaml"}, tc.params...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("sam-translate: %v\n%s", err, stderr.String())
			}
			var cfn struct {
				Resources map[string]cfnResource
			}
			if err := json.Unmarshal(out, &cfn); err != nil {
				t.Fatal(err)
			}
			checkTranslation(t, cfn.Resources)
			if tc.check != nil {
				tc.check(t, cfn.Resources)
			}
		})
	}
}

type cfnResource struct {
	Type       string
	Condition  string
	Properties map[string]any
}

func checkTranslation(t *testing.T, res map[string]cfnResource) {
	t.Helper()
	for logical := range functionOf {
		alias, ok := res[logical+"Aliaslive"]
		if !ok || alias.Type != "AWS::Lambda::Alias" || alias.Properties["Name"] != "live" {
			t.Errorf("%s has no live alias: %+v", logical, alias)
		}
		dg, ok := res[logical+"DeploymentGroup"]
		if !ok {
			t.Errorf("%s has no deployment group", logical)
			continue
		}
		b, _ := json.Marshal(dg.Properties["AlarmConfiguration"])
		for _, a := range []string{"FunctionErrorsAlarm", "ServerErrorsAlarm", "AgentErrorRateAlarm"} {
			if !strings.Contains(string(b), `"`+a+`"`) {
				t.Errorf("%s's deployment does not roll back on %s: %s", logical, a, b)
			}
		}
	}
	stage := res["ApiDomainMapping"].Properties["Stage"]
	b, _ := json.Marshal(stage)
	var ref struct{ Ref string }
	if err := json.Unmarshal(b, &ref); err != nil || res[ref.Ref].Type != "AWS::ApiGatewayV2::Stage" {
		t.Errorf("ApiDomainMapping's stage %s is not the API's stage", b)
	}
	// The routes invoke the aliases, so a gradual deployment shifts them.
	body, _ := json.Marshal(res["HttpApi"].Properties["Body"])
	for logical := range functionOf {
		if !strings.Contains(string(body), "${"+logical+"Aliaslive}") {
			t.Errorf("no route invokes %s's live alias", logical)
		}
	}
}

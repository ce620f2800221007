package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/crmbridge/crmbridge/shared/route"
)

// RIEPackage is the Runtime Interface Emulator's command, a tool of the
// module in tools/rie.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// BuildBootstraps compiles each function as Lambda does (bootstrap,
// lambda.norpc, stripped) for this machine, into dir/<function>/bootstrap,
// and the Runtime Interface Emulator (a tool in go.mod) into dir.
func BuildBootstraps(ctx context.Context, moduleRoot, dir string) error {
	build := func(out string, args ...string) error {
		out, err := filepath.Abs(out)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", out}, args...)...)
		cmd.Dir = moduleRoot
		if strings.HasPrefix(args[0], RIEPackage) {
			// The emulator has its own module (tools/rie), so the bridge's
			// go.mod asks only for the Go release the bridge needs.
			cmd.Dir = filepath.Join(moduleRoot, "tools", "rie")
		}
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	if err := build(filepath.Join(dir, "aws-lambda-rie"), RIEPackage); err != nil {
		return err
	}
	for _, fn := range route.Functions {
		if err := build(filepath.Join(dir, fn, "bootstrap"), "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "./functions/"+fn); err != nil {
			return err
		}
	}
	return nil
}

// RIE is a function's real bootstrap running under the Lambda Runtime
// Interface Emulator.
type RIE struct {
	URL string
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

// StartRIE runs bootstrap under the emulator with env (and nothing else
// from this process's environment but PATH and HOME), on free ports.
func StartRIE(ctx context.Context, rie, bootstrap string, env map[string]string) (*RIE, error) {
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	runtimePort, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &RIE{URL: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	r.cmd = exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		"--log-level", "error", bootstrap)
	r.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Stdout, r.cmd.Stderr = &lockedWriter{r: r}, &lockedWriter{r: r}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", apiPort), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return r, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.Stop()
			return nil, fmt.Errorf("the emulator did not listen: %s", r.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type lockedWriter struct{ r *RIE }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.out.Write(p)
}

// Output is what the emulator and the bootstrap printed.
func (r *RIE) Output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// Invoke sends one event and returns the function's result payload.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("invoke: emulator answered %d: %s", resp.StatusCode, b)
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" {
		return b, errors.New("function error: " + string(b))
	}
	return b, nil
}

// Stop ends the emulator and the bootstrap.
func (r *RIE) Stop() {
	if r == nil || r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// LambdaAPI is a local stand-in for the Lambda Invoke API in front of
// emulators: POST /2015-03-31/functions/{name}/invocations reaches the
// emulator registered under name. The webhook-message bootstrap forwards
// escalation and action calls through it, exactly as it would through AWS.
type LambdaAPI struct {
	mu        sync.Mutex
	functions map[string]*RIE
}

// Register routes name to r.
func (l *LambdaAPI) Register(name string, r *RIE) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.functions == nil {
		l.functions = map[string]*RIE{}
	}
	l.functions[name] = r
}

// ServeHTTP implements the Invoke call.
func (l *LambdaAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rest, ok := strings.CutPrefix(req.URL.Path, "/2015-03-31/functions/")
	name, ok2 := strings.CutSuffix(rest, "/invocations")
	l.mu.Lock()
	r := l.functions[name]
	l.mu.Unlock()
	if !ok || !ok2 || r == nil || req.Method != http.MethodPost {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"Type":"User","message":"Function not found"}`)
		return
	}
	payload, _ := io.ReadAll(req.Body)
	out, err := r.Invoke(req.Context(), payload)
	if err != nil && out == nil {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"Type":"Service","message":"invoke failed"}`)
		return
	}
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	_, _ = w.Write(out)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

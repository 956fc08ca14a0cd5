package soap_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/connectors/internal/conntest"
	"github.com/hmsplatform/synclayer/connectors/soap"
)

func dispatcher(t *testing.T, conn synclayer.Connector, obs synclayer.Observer) *synclayer.Dispatcher {
	return conntest.Retrying(t, "soap", conn, func(key string) synclayer.Record { return upsert(key, 1) }, obs)
}

func TestNetworkFailuresDeliverOnce(t *testing.T) {
	tests := map[string]fault{
		"LostResponse": lostResponse,
		"Stall":        stall,
		"TruncatedSuccess": func(w http.ResponseWriter, _ *http.Request, apply func() int) {
			apply()
			conntest.WriteRaw(w, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 400\r\n\r\n<soap:Envelope xmlns:soap=")
		},
		"ServerFaultWith200": faultWith(soap.SOAP11, 200, "Server", "try later"),
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			p := newPartner(t)
			p.faults.Inject(f)
			conn, err := soap.New(soap.Config{URL: p.srv.URL})
			conntest.DeliveredOnRetry(t, dispatcher(t, conntest.Open(t, conn, err), nil), "WF-1")
			if got, _ := p.lookup(t.Context(), "WF-1"); len(got) != 1 || got[0] != 1 {
				t.Errorf("partner holds %v", got)
			}
		})
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	const password = "SECRET-PASSWORD-77"
	p := newPartner(t)
	// The partner echoes the whole request in its fault, as some do.
	echo := func(code string) fault {
		return func(w http.ResponseWriter, r *http.Request, _ func() int) {
			calls := p.requests()
			writeFault(w, soap.SOAP11, 500, code, "rejected: "+string(calls[len(calls)-1].Raw)+" auth="+r.Header.Get("Authorization"))
		}
	}
	p.faults.Inject(echo("Client"), echo("Server"), echo("Server"), echo("Server"), echo("Server"))
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	conn, err := soap.New(soap.Config{
		URL:      p.srv.URL,
		Security: &soap.UsernameToken{Username: "svc", Password: password},
		Header:   http.Header{"Authorization": {"Basic U0VDUkVULUJBU0lDLTg4"}},
	})
	d := dispatcher(t, conntest.Open(t, conn, err), synclayer.LogObserver(logger))
	texts := conntest.PushFailures(t, d, "a", "b")
	conntest.NoSecrets(t, texts, logs.String(), []string{"fault Client", "fault Server"}, []string{password, "U0VDUkVULUJBU0lDLTg4"})
}

package synclayertest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hmsplatform/synclayer"
	"github.com/hmsplatform/synclayer/synclayertest"
)

// The suite's own test: the recording Fake is a correct connector.
func TestConnectorFake(t *testing.T) {
	synclayertest.TestConnector(t, synclayertest.ConnectorHarness{
		NewPartner: func(t *testing.T) *synclayertest.Partner {
			f := synclayertest.NewFake()
			return &synclayertest.Partner{
				Connector: f,
				Lookup: func(_ context.Context, key string) ([]int64, error) {
					st, ok := f.Record(key)
					if !ok {
						return nil, nil
					}
					v, ok := st.Payload.(int64)
					if !ok {
						return nil, errors.New("payload is not an int64")
					}
					return []int64{v}, nil
				},
				Fail: func(fl synclayertest.Failure, times int) bool {
					switch fl {
					case synclayertest.FailRetryable:
						f.Inject(synclayertest.Fault{Times: times})
					case synclayertest.FailPermanent:
						f.Inject(synclayertest.Fault{Times: times, Err: synclayer.Permanent(errors.New("refused"))})
					case synclayertest.FailStall:
						f.Inject(synclayertest.Fault{Times: times, Wait: make(chan struct{})})
					case synclayertest.FailLostResponse:
						f.Inject(synclayertest.Fault{Times: times, Apply: true})
					default:
						return false
					}
					return true
				},
			}
		},
		Payload: func(_ string, version int64) any { return version },
		Delete:  true,
	})
}

package soap_test

import (
	"testing"

	"github.com/hmsplatform/synclayer/connectors/soap"
	"github.com/hmsplatform/synclayer/synclayertest"
)

func TestConformance(t *testing.T) {
	for _, v := range []soap.Version{soap.SOAP11, soap.SOAP12} {
		t.Run(v.String(), func(t *testing.T) {
			synclayertest.TestConnector(t, synclayertest.ConnectorHarness{
				NewPartner: func(t *testing.T) *synclayertest.Partner {
					p := newPartner(t)
					conn, err := soap.New(soap.Config{
						URL:          p.srv.URL + "/RecordService",
						Version:      v,
						Action:       "urn:example:records/Upsert",
						DeleteAction: "urn:example:records/Delete",
						DeleteBody:   func(key string, _ int64) any { return DeleteRecord{Key: key} },
					})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { conn.Close() })
					return &synclayertest.Partner{Connector: conn, Lookup: p.lookup, Fail: p.failer(v)}
				},
				Payload: func(key string, version int64) any { return UpsertRecord{Key: key, Version: version} },
				Delete:  true,
			})
		})
	}
}

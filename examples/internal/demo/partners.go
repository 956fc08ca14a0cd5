package demo

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/hmsplatform/synclayer/connectors/arcgis/arcgistest"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar"
	"github.com/hmsplatform/synclayer/connectors/googlecalendar/calendartest"
)

// GISToken is the token the fake GIS layer requires; in production it is
// a secret from the environment or a file.
const GISToken = "demo-token"

// Partners are the three fake partner systems of the account, each served
// on a free port of 127.0.0.1: the Google Calendar Events API, an ArcGIS
// feature layer (keyed by WORKFLOW_ID, requiring [GISToken]) for the GIS
// resource planner, and a records API.
type Partners struct {
	Calendar *calendartest.Fake
	GIS      *arcgistest.Layer
	Records  *Records

	// CalendarURL, GISLayerURL and RecordsURL are where they are served:
	// the calendar's base URL, the feature layer's URL, the records API's
	// base URL.
	CalendarURL, GISLayerURL, RecordsURL string

	stops []func()
}

// StartPartners serves the three fakes. Close stops them.
func StartPartners() (*Partners, error) {
	p := &Partners{Calendar: calendartest.New(), Records: NewRecords("records"),
		GIS: arcgistest.NewLayer("WORKFLOW_ID", arcgistest.RequireToken(GISToken))}
	urls := make([]string, 3)
	for i, h := range []http.Handler{p.Calendar, p.GIS, p.Records} {
		u, stop, err := Serve(h)
		if err != nil {
			p.Close()
			return nil, err
		}
		urls[i] = u
		p.stops = append(p.stops, stop)
	}
	p.CalendarURL = urls[0]
	p.GISLayerURL = urls[1] + "/arcgis/rest/services/Workflows/FeatureServer/0"
	p.RecordsURL = urls[2]
	return p, nil
}

// Close stops the fakes.
func (p *Partners) Close() {
	for _, stop := range p.stops {
		stop()
	}
	p.stops = nil
}

// Describe says what each partner holds.
func (p *Partners) Describe() string {
	var b bytes.Buffer
	evs := p.Calendar.Events("ops")
	fmt.Fprintf(&b, "  calendar  %d event(s)\n", len(evs))
	for _, ev := range evs {
		fmt.Fprintf(&b, "            %s %q %s..%s (%s)\n", ev.ExtendedProperties.Private[googlecalendar.PropertyKey], ev.Summary, ev.Start.Date, ev.End.Date, ev.Status)
	}
	b.WriteString(p.DescribeGIS())
	b.WriteString(p.Records.Describe())
	return b.String()
}

// DescribeGIS says what the GIS layer holds.
func (p *Partners) DescribeGIS() string {
	var b bytes.Buffer
	fs := p.GIS.Features()
	fmt.Fprintf(&b, "  gis       %d feature(s)\n", len(fs))
	for _, f := range fs {
		fmt.Fprintf(&b, "            OBJECTID %d %s %s starts %s\n", f.ObjectID, f.Attributes["WORKFLOW_ID"], f.Attributes["NAME"], f.Attributes["START_DATE"])
	}
	return b.String()
}

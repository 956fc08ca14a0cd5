package config

import (
	"reflect"
	"time"
)

// Config is a loaded configuration: every section decoded and checked, and
// every mapping compiled. Load returns it; Build turns it into a running
// dispatcher. Its fields mirror the file; see the README's "Configuration" section.
type Config struct {
	Bus        BusSection        `yaml:"bus"`
	Store      StoreSection      `yaml:"store"`
	Log        LogSection        `yaml:"log"`
	HTTP       HTTPSection       `yaml:"http"`
	Monitor    *MonitorSection   `yaml:"monitor"`
	Dispatcher DispatcherSection `yaml:"dispatcher"`
	Partners   []Partner         `yaml:"partners,required"`

	file   string
	dir    string
	places map[string]pos
	kinds  map[string]*Kind
}

// File is the name of the file the configuration was loaded from.
func (c *Config) File() string { return c.file }

// BusSection is the event bus: memory, nats, redisstream, amqp or kafka.
type BusSection struct {
	Kind            string        `yaml:"kind"`
	URL             Value         `yaml:"url"`
	Brokers         []Value       `yaml:"brokers"`
	Stream          string        `yaml:"stream"`
	Prefix          string        `yaml:"prefix"`
	Exchange        string        `yaml:"exchange"`
	Group           string        `yaml:"group"`
	Concurrency     int           `yaml:"concurrency"`
	MaxDeliveries   int           `yaml:"maxDeliveries"`
	RedeliveryDelay time.Duration `yaml:"redeliveryDelay"`
	AckWait         time.Duration `yaml:"ackWait"`
	ClaimIdle       time.Duration `yaml:"claimIdle"`
	MetadataMaxAge  time.Duration `yaml:"metadataMaxAge"`
}

// Storage is the settings the store and log sections share: the kind,
// and where and how it keeps its entries. In the file they are the
// section's own.
type Storage struct {
	Kind       string `yaml:"kind"`
	DSN        Value  `yaml:"dsn"`
	URL        Value  `yaml:"url"`
	Table      string `yaml:"table"`
	Prefix     string `yaml:"prefix"`
	Migrate    *bool  `yaml:"migrate"`
	MaxEntries int    `yaml:"maxEntries"`
}

// StoreSection is the idempotency store: memory, postgres, mariadb, sqlite
// or redis.
type StoreSection struct {
	Storage `yaml:",inline"`
}

// LogSection is the delivery log: memory, postgres, mariadb, sqlite,
// redis or none.
type LogSection struct {
	Storage `yaml:",inline"`
	// Retention is how long a redis log keeps settled entries (0: 7 days).
	Retention time.Duration `yaml:"retention"`
	// DeadRetention lets a redis log drop dead letters this long after
	// their last update (0: kept until replayed).
	DeadRetention time.Duration `yaml:"deadRetention"`
}

// HTTPSection is where the binary serves /healthz, /readyz, /metrics and
// the monitor.
type HTTPSection struct {
	Addr string `yaml:"addr"`
}

// MonitorSection turns the monitor (the status API and dashboard) on.
type MonitorSection struct {
	Title          string   `yaml:"title"`
	Writes         bool     `yaml:"writes"`
	Token          Secret   `yaml:"token"`
	AllowedHosts   []string `yaml:"allowedHosts"`
	TrustedOrigins []string `yaml:"trustedOrigins"`
}

// DispatcherSection holds the dispatcher's options.
type DispatcherSection struct {
	Source        string        `yaml:"source"`
	DrainTimeout  time.Duration `yaml:"drainTimeout"`
	LeaseTTL      time.Duration `yaml:"leaseTTL"`
	Retention     time.Duration `yaml:"retention"`
	MaxEventBytes int           `yaml:"maxEventBytes"`
}

// Partner is one partner system: its connector kind and settings, how
// deliveries to it are retried and limited, and one route per event type.
type Partner struct {
	Name        string          `yaml:"name,required"`
	Kind        string          `yaml:"kind,required"`
	Settings    rawNode         `yaml:"settings"`
	Retry       *RetrySection   `yaml:"retry"`
	Timeout     time.Duration   `yaml:"timeout"`
	Concurrency int             `yaml:"concurrency"`
	RateLimit   *RateSection    `yaml:"rateLimit"`
	Breaker     *BreakerSection `yaml:"breaker"`
	Routes      Routes          `yaml:"routes,required"`

	settings any // the kind's decoded settings
	path     string
}

// RetrySection is a partner's retry policy; zero fields take the
// library's defaults ([synclayer.RetryPolicy]). Jitter is the exception:
// nil (no jitter in the file) takes the default, ±50%, and 0 turns jitter
// off.
type RetrySection struct {
	MaxAttempts     int           `yaml:"maxAttempts"`
	InitialInterval time.Duration `yaml:"initialInterval"`
	MaxInterval     time.Duration `yaml:"maxInterval"`
	MaxElapsed      time.Duration `yaml:"maxElapsed"`
	Multiplier      float64       `yaml:"multiplier"`
	Jitter          *float64      `yaml:"jitter"`
}

// RateSection limits a partner's attempts.
type RateSection struct {
	PerSecond float64 `yaml:"perSecond,required"`
	Burst     int     `yaml:"burst,required"`
}

// BreakerSection gives a partner a circuit breaker.
type BreakerSection struct {
	Window      time.Duration `yaml:"window"`
	MinRequests int           `yaml:"minRequests"`
	FailureRate float64       `yaml:"failureRate"`
	OpenFor     time.Duration `yaml:"openFor"`
}

// Route maps one event type for one partner.
type Route struct {
	EventType string
	Key       Expr   `yaml:"key,required"`
	Version   Expr   `yaml:"version"`
	Delete    Expr   `yaml:"delete"`
	Record    Record `yaml:"record,required"`

	at      pos
	path    string
	mapping *Mapping
}

// Mapping returns the route's compiled mapping.
func (r *Route) Mapping() *Mapping { return r.mapping }

// Routes are a partner's routes in the order of the file.
type Routes []*Route

func (rs *Routes) decodeNode(d *decoder, n *node, path string) {
	if n.null {
		return
	}
	if n.kind != mappingNode {
		d.errorAt(n.at, path, "want a mapping from event type to route, got %s", n.kindName())
		return
	}
	for i, k := range n.keys {
		p := pathKey(path, k.text)
		r := &Route{EventType: k.text, at: k.at, path: p}
		d.decode(n.values[i], p, reflect.ValueOf(r).Elem())
		*rs = append(*rs, r)
	}
}

// rawNode keeps a node to decode later, once the kind is known.
type rawNode struct {
	n    *node
	path string
}

func (r *rawNode) decodeNode(_ *decoder, n *node, path string) { *r = rawNode{n: n, path: path} }

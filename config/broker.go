package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// brokerFault is what is wrong with a Kafka broker address.
type brokerFault int

const (
	brokerOK        brokerFault = iota
	brokerForm                  // neither a host nor host:port
	brokerNoHost                // :port
	brokerPortNaN               // host:abc
	brokerPortRange             // a port outside 1..65535
)

// checkBrokerAddress finds what is wrong with a Kafka broker address. It
// takes what the Kafka client (franz-go's kgo.SeedBrokers) reads: a host
// alone (the client dials port 9092), an IPv6 address with or without
// brackets ([::1], ::1), or host:port ([::1]:9092 for an IPv6 host) with a
// port in 1..65535. It refuses what the client would refuse or misread: no
// host, a port that is not a number or out of range, a URL, text with
// spaces. It returns the port as written for the two port faults.
func checkBrokerAddress(addr string) (brokerFault, string) {
	var host, port string
	hasPort := false
	switch {
	case strings.HasPrefix(addr, "["):
		// The client splits at "]" and reads what follows ":" as the port.
		h, rest, ok := strings.Cut(addr[1:], "]")
		if !ok || strings.Contains(rest, "]") || (rest != "" && rest[0] != ':') {
			return brokerForm, ""
		}
		host = h
		if rest != "" {
			port, hasPort = rest[1:], true
		}
	case !strings.Contains(addr, ":"):
		host = addr
	default:
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			// The client reads it as an IPv6 address alone: it must be one.
			if _, perr := netip.ParseAddr(addr); perr != nil {
				return brokerForm, ""
			}
			return brokerOK, ""
		}
		host, port, hasPort = h, p, true
	}
	switch {
	case strings.ContainsAny(host, " \t/@?#[]"):
		return brokerForm, ""
	case host == "":
		return brokerNoHost, ""
	case !hasPort:
		return brokerOK, ""
	case port == "" || strings.Trim(port, "0123456789") != "":
		return brokerPortNaN, port
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return brokerPortRange, port
	}
	return brokerOK, ""
}

// brokerProblem reports a problem with a broker address written in the
// file, showing it, or "".
func brokerProblem(addr string) string {
	fault, port := checkBrokerAddress(addr)
	switch fault {
	case brokerForm:
		return "want host or host:port, got " + quoteText(addr)
	case brokerNoHost:
		return "want host or host:port, got " + quoteText(addr) + " (no host)"
	case brokerPortNaN:
		return fmt.Sprintf("port %s of %s is not a number", quoteText(port), quoteText(addr))
	case brokerPortRange:
		return fmt.Sprintf("port %s of %s is not in 1..65535", clipQuoted(port), quoteText(addr))
	}
	return ""
}

// resolvedBrokerProblem reports a problem with a broker address resolved
// from a reference, without showing it, or "".
func resolvedBrokerProblem(addr string) string {
	fault, _ := checkBrokerAddress(addr)
	switch fault {
	case brokerForm:
		return "want host or host:port"
	case brokerNoHost:
		return "want host or host:port (no host)"
	case brokerPortNaN:
		return "the port is not a number"
	case brokerPortRange:
		return "the port is not in 1..65535"
	}
	return ""
}

// brokers checks the Kafka brokers written in the file; a reference is
// checked once resolved, by the builder's broker.
func (v *validator) brokers(brokers []Value) {
	for i, b := range brokers {
		path := fmt.Sprintf("bus.brokers[%d]", i)
		switch {
		case b.IsSecret():
		case b.lit == "":
			v.at(path, "a broker is empty; want host or host:port")
		default:
			if msg := brokerProblem(b.lit); msg != "" {
				v.at(path, "%s", msg)
			}
		}
	}
}

// broker resolves a Kafka broker, and checks it when it comes from a
// reference (Load checked one written in the file). The error names the
// place of the reference, never the value.
func (b *builder) broker(v Value) (string, error) {
	addr, err := b.address(v)
	if err != nil || !v.IsSecret() {
		return addr, err
	}
	if msg := resolvedBrokerProblem(addr); msg != "" {
		s := v.secret
		return "", Errors{{File: b.cfg.file, Line: s.at.line, Column: s.at.col, Path: s.path,
			Msg: fmt.Sprintf("reference %s does not give a usable broker address: %s", s.ref, msg)}}
	}
	return addr, nil
}

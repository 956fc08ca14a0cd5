package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// brokerFault is what is wrong with a Kafka broker address.
type brokerFault int

const (
	brokerOK        brokerFault = iota
	brokerForm                  // not host:port
	brokerNoHost                // :port
	brokerPortNaN               // host:abc
	brokerPortRange             // a port outside 1..65535
)

// checkBrokerAddress finds what is wrong with a Kafka broker address,
// which must be host:port ([::1]:9092 for an IPv6 host) with a port in
// 1..65535. It returns the port as written for the two port faults.
func checkBrokerAddress(addr string) (brokerFault, string) {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil || strings.ContainsAny(host, " \t/@?#"):
		return brokerForm, ""
	case host == "":
		return brokerNoHost, ""
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
		return "want host:port, got " + quoteText(addr)
	case brokerNoHost:
		return "want host:port, got " + quoteText(addr) + " (no host)"
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
		return "want host:port"
	case brokerNoHost:
		return "want host:port (no host)"
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
			v.at(path, "a broker is empty; want host:port")
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

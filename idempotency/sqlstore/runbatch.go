package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hmsplatform/synclayer/idempotency"
)

// The runners of the store's lanes: each sends one batch as one statement
// (PostgreSQL, MariaDB) or one transaction (SQLite) and fills in each op's
// result. A runner may run again after a rolled-back attempt (see
// Store.retry), so it sets every result afresh.

// markerRow reports whether a batch writes a done-marker row for a
// complete of c with retention ret (milliseconds). A claim in synclayer's
// own namespaces (connector names starting with "$": an event's
// announcements) is completed with the key's row alone, which records the
// event as the key's last, done until the retention ends, and which a
// claim of the same event reads as done: such a key serves one event (the
// announcements of one event ID), so nothing older needs remembering. That
// spares a third of an announcement's row writes. The single-row
// statements still write the marker row; a claim reads either.
func markerRow(c idempotency.Claim, ret int64) bool { return ret > 0 && ledgered(c.Connector) }

// decide turns the key's row as a claim left it into the claim's answer.
func decide(o *op, gotTok string, version, leaseUntil int64, doneInRow bool) {
	c := o.c
	switch {
	case doneInRow:
		o.res = idempotency.ClaimResult{Status: idempotency.ClaimDone}
	case gotTok == o.token:
		o.res = idempotency.ClaimResult{Status: idempotency.ClaimAcquired, Token: o.token, Version: version}
	case c.Version != 0 && c.Version <= version:
		o.res = idempotency.ClaimResult{Status: idempotency.ClaimStale, Version: version}
	case leaseUntil > 0:
		o.res = idempotency.ClaimResult{Status: idempotency.ClaimBusy, Version: version, Expires: time.UnixMilli(leaseUntil)}
	default:
		o.err = ErrNoAnswer
	}
}

// start begins an attempt at a batch of kind k: it clears the results of
// ops and runs the test hook, if any.
func (s *Store) start(k opKind, ops []*op) error {
	for _, o := range ops {
		o.res, o.ok, o.err = idempotency.ClaimResult{}, false, nil
	}
	if s.testHook == nil {
		return nil
	}
	return s.testHook(opNames[k], len(ops))
}

// eachInTx runs the single-row statement st for each of ops, through f, in
// one transaction: how SQLite runs a batch.
func (s *Store) eachInTx(ctx context.Context, ops []*op, st *stmt, f func(ps *sql.Stmt, o *op) error) error {
	return s.inTx(ctx, func(t *txn) error {
		ps := t.stmt(st)
		for _, o := range ops {
			if err := f(ps, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// byKID indexes a batch by the key row's id (unique within a batch).
func byKID(ops []*op) map[string]*op {
	m := make(map[string]*op, len(ops))
	for _, o := range ops {
		m[string(o.kid)] = o
	}
	return m
}

// runClaims decides a batch of claims.
func (s *Store) runClaims(ctx context.Context, ops []*op) error {
	if err := s.start(opClaim, ops); err != nil {
		return err
	}
	if s.dialect == SQLite {
		return s.eachInTx(ctx, ops, &s.claim, func(ps *sql.Stmt, o *op) error {
			o.token = newToken()
			return s.claimOne(ctx, ps, o)
		})
	}
	if len(ops) == 1 {
		// A lone claim takes the single-row statement, which costs the
		// database less than the batch's.
		ops[0].token = newToken()
		ps, err := s.prepare(ctx, &s.claim)
		if err != nil {
			return err
		}
		return s.claimOne(ctx, ps, ops[0])
	}
	var args []any
	n := len(ops)
	if s.dialect == Postgres {
		kids, conns, keys, eids := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		toks, ttls, vers := make([]string, n), make([]int64, n), make([]int64, n)
		for i, o := range ops {
			o.token = strconv.Itoa(i+1) + "." + newToken()
			kids[i], conns[i], keys[i], eids[i] = o.kid, bytesOf(o.c.Connector), bytesOf(o.c.Key), o.eid
			toks[i], ttls[i], vers[i] = o.token, millis(o.c.LeaseTTL), o.c.Version
		}
		args = []any{kids, conns, keys, eids, toks, ttls, vers}
	} else {
		rows := make([][]string, n)
		for i, o := range ops {
			o.token = newToken()
			rows[i] = []string{hex.EncodeToString(o.kid), hex.EncodeToString([]byte(o.c.Connector)),
				hex.EncodeToString([]byte(o.c.Key)), hex.EncodeToString(o.eid), o.token,
				strconv.FormatInt(millis(o.c.LeaseTTL), 10), strconv.FormatInt(o.c.Version, 10)}
		}
		args = []any{jsonArg(rows)}
	}
	q := s.sql.claim
	for _, o := range ops {
		if s.sql.claimLong != "" && (len(o.c.Connector) > mariaShortName || len(o.c.Key) > mariaShortName) {
			q = s.sql.claimLong
			break
		}
	}
	ps, err := s.prepareQ(ctx, q)
	if err != nil {
		return err
	}
	return s.readClaims(ctx, ps, args, ops)
}

// readClaims runs the batch claim ps and decides each claim from the rows
// it returns.
func (s *Store) readClaims(ctx context.Context, ps *sql.Stmt, args []any, ops []*op) error {
	n := len(ops)
	rows, err := ps.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	idx := byKID(ops)
	seen := make(map[*op]bool, n)
	for rows.Next() {
		var (
			id, lastEvent       []byte
			gotTok              string
			version, leaseUntil int64
			doneLive            bool
		)
		if err := rows.Scan(&id, &gotTok, &version, &leaseUntil, &lastEvent, &doneLive); err != nil {
			return err
		}
		o := idx[string(id)]
		if o == nil {
			return errors.New("the database returned a row the batch did not claim")
		}
		seen[o] = true
		decide(o, gotTok, version, leaseUntil, doneLive && bytes.Equal(lastEvent, o.eid))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range ops {
		if !seen[o] {
			// The INSERT ... SELECT selected nothing for it: the event's
			// done-marker is live.
			o.res = idempotency.ClaimResult{Status: idempotency.ClaimDone}
		}
	}
	return nil
}

// claimOne runs the single-row claim of o on ps.
func (s *Store) claimOne(ctx context.Context, ps *sql.Stmt, o *op) error {
	var v [nParams]any
	v[pKID] = o.kid
	v[pConn] = bytesOf(o.c.Connector)
	v[pKey] = bytesOf(o.c.Key)
	v[pEID] = o.eid
	v[pVer] = o.c.Version
	v[pTok] = o.token
	v[pTTL] = millis(o.c.LeaseTTL)
	var (
		gotTok              string
		version, leaseUntil int64
		doneInRow           bool
	)
	o.res, o.err = idempotency.ClaimResult{}, nil
	err := ps.QueryRowContext(ctx, s.claim.args(&v)...).Scan(&gotTok, &version, &leaseUntil, &doneInRow)
	if errors.Is(err, sql.ErrNoRows) {
		// The INSERT ... SELECT selected nothing: the done-marker is live.
		o.res = idempotency.ClaimResult{Status: idempotency.ClaimDone}
		return nil
	}
	if err != nil {
		return err
	}
	decide(o, gotTok, version, leaseUntil, doneInRow)
	return nil
}

// runCompletes records a batch of completes, and the log entries of the
// logged ones (all to one log, see lane.take) in the same statement or
// transaction.
func (s *Store) runCompletes(ctx context.Context, ops []*op) error {
	if err := s.start(opComplete, ops); err != nil {
		return err
	}
	var log *Log
	var logged []*op
	for _, o := range ops {
		if o.log != nil {
			log = o.log
			logged = append(logged, o)
		}
	}
	byLogID(logged)
	if s.dialect == SQLite {
		return s.inTx(ctx, func(t *txn) error {
			for _, o := range ops {
				st, v := s.completeParams(o)
				if _, err := t.stmt(st).ExecContext(ctx, st.args(&v)...); err != nil {
					return err
				}
			}
			return s.putLogged(ctx, t.tx, log, logged)
		})
	}
	if len(ops) == 1 && log == nil {
		st, v := s.completeParams(ops[0])
		return s.exec(ctx, st, &v)
	}
	var args []any
	if s.dialect == Postgres {
		var (
			ids, conns, names, les, evids, hashes [][]byte
			kinds                                 []string
			vers, rets                            []int64
		)
		mine := make(map[string]string, len(ops)) // key row's id (hex) -> the caller's token
		for _, o := range ops {
			ret := millis(o.c.Retention)
			var le []byte
			if ret > 0 {
				le = o.eid
			}
			ids, kinds, conns, names = append(ids, o.kid), append(kinds, "k"), append(conns, bytesOf(o.c.Connector)), append(names, bytesOf(o.c.Key))
			vers, les, rets = append(vers, o.c.Version), append(les, le), append(rets, ret)
			evid := bytesOf(o.c.EventID)
			if !ledgered(o.c.Connector) {
				evid = nil // NULL: no ledger entry (see pgBatch)
			}
			evids, hashes = append(evids, evid), append(hashes, bytesOf(o.c.Hash))
			if markerRow(o.c, ret) {
				ids, kinds, conns, names = append(ids, o.eid), append(kinds, "e"), append(conns, bytesOf(o.c.Connector)), append(names, bytesOf(o.c.EventID))
				vers, les, rets = append(vers, 0), append(les, o.eid), append(rets, ret)
				evids, hashes = append(evids, []byte{}), append(hashes, []byte{})
			}
			if o.token != "" {
				mine[hex.EncodeToString(o.kid)] = o.token
			}
		}
		set, err := json.Marshal(mine)
		if err != nil {
			return err
		}
		args = []any{ids, kinds, conns, names, vers, les, rets, string(set), evids, hashes}
		if log != nil {
			// One statement: the log's upsert rides as a CTE.
			q := "WITH lg AS (" + log.putMany(len(logged), len(args)+1) + ") " + s.sql.complete
			for _, o := range logged {
				args = append(args, o.logArgs...)
			}
			_, err := s.db.ExecContext(ctx, q, args...)
			return err
		}
	} else {
		rows := make([][]string, 0, 2*len(ops))
		for _, o := range ops {
			ret := millis(o.c.Retention)
			r, v := strconv.FormatInt(ret, 10), strconv.FormatInt(o.c.Version, 10)
			kid, eid, conn := hex.EncodeToString(o.kid), hex.EncodeToString(o.eid), hex.EncodeToString([]byte(o.c.Connector))
			tok := o.token
			if tok == "" {
				tok = "-"
			}
			ename, hash := hex.EncodeToString([]byte(o.c.EventID)), hex.EncodeToString([]byte(o.c.Hash))
			if !ledgered(o.c.Connector) {
				hash = "-" // no ledger entry (see mariaBatch)
			}
			rows = append(rows, []string{kid, "k", conn, hex.EncodeToString([]byte(o.c.Key)), v, eid, r, tok, ename, hash})
			if markerRow(o.c, ret) {
				rows = append(rows, []string{eid, "e", conn, ename, "0", eid, r, "-", "", ""})
			}
		}
		args = []any{jsonArg(rows)}
		if log != nil {
			return s.inTx(ctx, func(t *txn) error {
				if _, err := t.tx.StmtContext(ctx, t.complete).ExecContext(ctx, args...); err != nil {
					return err
				}
				return s.putLogged(ctx, t.tx, log, logged)
			})
		}
	}
	ps, err := s.prepareQ(ctx, s.sql.complete)
	if err != nil {
		return err
	}
	_, err = ps.ExecContext(ctx, args...)
	return err
}

// putLogged writes the log entries of logged completes in tx.
func (s *Store) putLogged(ctx context.Context, tx *sql.Tx, log *Log, logged []*op) error {
	if log == nil {
		return nil
	}
	args := make([]any, 0, len(logged)*len(logColumns))
	for _, o := range logged {
		args = append(args, o.logArgs...)
	}
	_, err := tx.ExecContext(ctx, log.putMany(len(logged), 1), args...)
	return err
}

// completeParams returns the single-row complete statement of o and its
// parameters.
func (s *Store) completeParams(o *op) (*stmt, [nParams]any) {
	var v [nParams]any
	v[pKID] = o.kid
	v[pConn] = bytesOf(o.c.Connector)
	v[pKey] = bytesOf(o.c.Key)
	v[pVer] = o.c.Version
	v[pTok] = o.token
	v[pEName] = bytesOf(o.c.EventID)
	v[pHash] = bytesOf(o.c.Hash)
	v[pLed] = int64(0)
	if ledgered(o.c.Connector) {
		v[pLed] = int64(1)
	}
	st := &s.completeOnly
	if ret := millis(o.c.Retention); ret > 0 {
		st = &s.completeMark
		v[pEID] = o.eid
		v[pRet] = ret
	}
	if o.token == "" {
		v[pTok] = "-" // matches no lease: tokens are never "-"
	}
	return st, v
}

// runReleases drops the leases of a batch where their tokens still hold
// them.
func (s *Store) runReleases(ctx context.Context, ops []*op) error {
	if err := s.start(opRelease, ops); err != nil {
		return err
	}
	if s.dialect == SQLite {
		return s.eachInTx(ctx, ops, &s.release, func(ps *sql.Stmt, o *op) error {
			var v [nParams]any
			v[pKID], v[pTok] = o.kid, tokenOrNone(o.token)
			_, err := ps.ExecContext(ctx, s.release.args(&v)...)
			return err
		})
	}
	if len(ops) == 1 {
		var v [nParams]any
		v[pKID], v[pTok] = ops[0].kid, tokenOrNone(ops[0].token)
		return s.exec(ctx, &s.release, &v)
	}
	var args []any
	if s.dialect == Postgres {
		ids, toks := make([][]byte, len(ops)), make([]string, len(ops))
		for i, o := range ops {
			ids[i], toks[i] = o.kid, tokenOrNone(o.token)
		}
		args = []any{ids, toks}
	} else {
		rows := make([][]string, len(ops))
		for i, o := range ops {
			rows[i] = []string{hex.EncodeToString(o.kid), tokenOrNone(o.token)}
		}
		byID(rows)
		args = []any{jsonArg(rows)}
	}
	ps, err := s.prepareQ(ctx, s.sql.release)
	if err != nil {
		return err
	}
	_, err = ps.ExecContext(ctx, args...)
	return err
}

// runRenews extends the leases of a batch that their tokens still hold,
// and reports which.
func (s *Store) runRenews(ctx context.Context, ops []*op) error {
	if err := s.start(opRenew, ops); err != nil {
		return err
	}
	if s.dialect == SQLite {
		return s.eachInTx(ctx, ops, &s.renew, func(ps *sql.Stmt, o *op) error {
			var v [nParams]any
			v[pKID], v[pTok], v[pTTL] = o.kid, tokenOrNone(o.token), millis(o.c.LeaseTTL)
			res, err := ps.ExecContext(ctx, s.renew.args(&v)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			o.ok = n > 0
			return nil
		})
	}
	idx := byKID(ops)
	var (
		q    *sql.Stmt
		args []any
	)
	if s.dialect == Postgres {
		ids, toks, ttls := make([][]byte, len(ops)), make([]string, len(ops)), make([]int64, len(ops))
		for i, o := range ops {
			ids[i], toks[i], ttls[i] = o.kid, tokenOrNone(o.token), millis(o.c.LeaseTTL)
		}
		args = []any{ids, toks, ttls}
		ps, err := s.prepareQ(ctx, s.sql.renew)
		if err != nil {
			return err
		}
		q = ps
	} else {
		rows := make([][]string, len(ops))
		for i, o := range ops {
			rows[i] = []string{hex.EncodeToString(o.kid), tokenOrNone(o.token), strconv.FormatInt(millis(o.c.LeaseTTL), 10)}
		}
		byID(rows)
		args = []any{jsonArg(rows)}
		ps, err := s.prepareQ(ctx, s.sql.renew)
		if err != nil {
			return err
		}
		if _, err := ps.ExecContext(ctx, args...); err != nil {
			return err
		}
		// The tokens that still hold their rows held them during the
		// UPDATE too (a token never comes back), so it extended them.
		if q, err = s.prepareQ(ctx, s.sql.renewCheck); err != nil {
			return err
		}
	}
	rows, err := q.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if o := idx[string(id)]; o != nil {
			o.ok = true
		}
	}
	return rows.Err()
}

// byLogID sorts log writes by their row's id, so that concurrent batches
// take the log's row locks in one order.
func byLogID(ops []*op) {
	slices.SortFunc(ops, func(a, b *op) int { return strings.Compare(a.logID, b.logID) })
}

// byID sorts the rows of a MariaDB release or renew by their first
// column, the key row's id in hex (whose order is the id's): MariaDB's
// UPDATE ... JOIN JSON_TABLE reads the document in order and locks each
// row as it reaches it, so the rows are locked in primary-key order, the
// order in which claims and completes lock theirs.
func byID(rows [][]string) {
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
}

// tokenOrNone returns token, or a value that matches no lease for "".
func tokenOrNone(token string) string {
	if token == "" {
		return "-"
	}
	return token
}

// jsonArg encodes the rows of a MariaDB batch.
func jsonArg(rows [][]string) string {
	b, _ := json.Marshal(rows) // strings only: never fails
	return string(b)
}

// txn is a transaction of the store's, with the statements it may use,
// prepared on s.db before it began.
type txn struct {
	ctx      context.Context
	tx       *sql.Tx
	ps       map[*stmt]*sql.Stmt // SQLite: the single-row statements
	complete *sql.Stmt           // MariaDB: the batch complete of a logged complete
}

// stmt returns st, as inTx prepared it, bound to the transaction. It never
// asks the pool for a connection: tx.StmtContext runs on the transaction's
// own, and prepares the statement again there if Close closed it since.
func (t *txn) stmt(st *stmt) *sql.Stmt { return t.tx.StmtContext(t.ctx, t.ps[st]) }

// inTx runs f in a transaction, committed if f succeeds. Every statement
// a transaction may use is prepared before it begins, and handed to f in
// t: in a pool of one connection (the usual one for SQLite) a prepare on
// s.db inside the transaction would wait forever for a second connection,
// so f must not look statements up in the store's cache, which Close may
// empty at any moment.
func (s *Store) inTx(ctx context.Context, f func(t *txn) error) error {
	t := &txn{ctx: ctx}
	if s.dialect == SQLite {
		t.ps = make(map[*stmt]*sql.Stmt, 5)
		for _, st := range []*stmt{&s.claim, &s.completeMark, &s.completeOnly, &s.release, &s.renew} {
			ps, err := s.prepare(ctx, st)
			if err != nil {
				return err
			}
			t.ps[st] = ps
		}
	} else {
		ps, err := s.prepareQ(ctx, s.sql.complete) // a logged complete's
		if err != nil {
			return err
		}
		t.complete = ps
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	t.tx = tx
	if err := f(t); err != nil {
		tx.Rollback() //nolint:errcheck // the error of f is the one to report
		return err
	}
	return tx.Commit()
}

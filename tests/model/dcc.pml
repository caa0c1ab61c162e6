/*
 * dcc.pml -- spin model of the dcc peer protocol of docs/protocol.md:
 * ownership (roles, generations, pairing rules 1..11), planned handover,
 * replication (ARM, PUSH with floor, CLEAR_DIRTY), demand fetches, and
 * incarnations, between two sites over a link that loses, duplicates and
 * reorders messages, with power cuts of either site at any step.
 * tests/model/check.sh runs it; build products go to build/model.
 *
 * Sites A (0) and B (1), one volume of NR regions (1 or 2).  At the start A
 * is OWNER 1 and B REPLICA 1, paired, every region valid, clean and equal.
 *
 * PERSISTED (survives a power cut): the superblock's role (OWNER, REPLICA,
 * YIELDING) and generation; per region the data on disk, valid, dirty.
 * VOLATILE (lost): the daemon's state (Unpaired, Paired, Demoting, Sending,
 * Fenced, Taking), its seq counter, pushes and fetches in flight, the
 * ATTACH and HANDOVER it waits on, its incarnation and the peer's, the
 * replica's memory of pushes taken (last seq per region, floor), the newest
 * peer statement seen (FIX_NEWEST), and the kernel's armed bits.  A power
 * cut restarts the site at once with a new incarnation; it says HELLO.
 *
 * A volume removed and created again within one dccd incarnation (dmsetup
 * remove, then create; MAXREREG, 0 by default: without it the preprocessed
 * model is token for token the one without this paragraph): the dccd drops
 * the volume and adds it again, one step, not inside a handler (nor, in
 * SYNC, while a write pends there: a device with I/O in flight cannot be
 * removed).  The volume's VOLATILE state goes as in a power cut, but the
 * incarnations (its own and the peer's) and the seq counter are the dccd's
 * and stay: messages addressed to it before the drop are still taken
 * (FIX_DST admits them).  FIX_KEEP: so does what the dccd keeps per volume
 * UUID.  The kernel's armed bits go with the target.  No HELLO: the site
 * pairs again by ATTACH.  FIX_DETACH: it sends DETACH, a request with no
 * answer; a site that takes one does for the volume what a link loss it
 * sees does (Paired -> Unpaired, Sending -> Fenced, what is in flight
 * forgotten), without spending MAXLINK.  A message that comes while the
 * volume is away is dropped or refused (ENOENT); the model has the drop, as
 * a loss (MAXLOSS), and not the refusal, whose outcome at the sender (a
 * push not acknowledged, a fetch failed, a handover fenced, no pairing) is
 * that of a DETACH taken, a loss or a timeout.
 *
 * Each event is one atomic step (the daemon is single-threaded; a power cut
 * may fall between any two steps).  Demoting and Taking are split where a
 * power cut matters: migrate = suspend + read dirty-invalid + persist
 * YIELDING G+1 | send HANDOVER; take = receive the set | persist OWNER
 * G+1 with the set invalid (one request: SET_ROLE with RANGES) | send
 * HANDOVER_ACK.  A power cut inside a commit that changes bitmaps and the
 * role may leave the bitmaps changed and the role not (G_TORN).  While Demoting or Taking the site handles no
 * message (it is inside one handler).
 *
 * Environment (bounded): writes at the owner (unbounded in number, see
 * "Data"), migrate requests (MAXMIG), power cuts (MAXCRASH, both sites
 * together), message loss (MAXLOSS), duplication (MAXDUP), a link loss seen
 * by one site (MAXLINK: it forgets pushes and fetches in flight, Sending ->
 * Fenced, Paired -> Unpaired), a volume removed and created again (MAXREREG,
 * see above), any delivery order, a full link (K messages)
 * drops what is sent, and a replica may refuse any valid HANDOVER with
 * ECANCELED after burning G+1 (as if it answered an ask whose migrate had
 * failed: HANDOVER_ASK itself is not modelled).
 *
 * Properties (assertions after every step, except (d) and (e)):
 *  (a) at most one site accepts writes: role OWNER and not Demoting,
 *      Sending or Fenced (a site that restarts OWNER serves at once);
 *  (b) for every site s with role OWNER and region r: r valid and clean at
 *      s, and valid at the other site  =>  the other site's disk holds the
 *      latest acknowledged write of r (the start is a synced pair, so this
 *      is what every acknowledged push that cleared a bit must leave);
 *  (c) a site that accepts I/O and has r valid holds the latest
 *      acknowledged write of r (a read there returns it);
 *  (d) rules 9, 10 and 11 are never applied (asserted where a rule is
 *      chosen, on ATTACH and ATTACH_ACK);
 *  (e) (-DEND_CHECK) once the environment stops (no more faults, writes,
 *      migrates), every state where nothing more can happen has exactly one
 *      OWNER and one REPLICA of the same generation, both Paired.  Spin's
 *      weak fairness is per process and this model is one process, so this
 *      is an end-state check: after the stop a site re-asks (ATTACH) only on
 *      spin's timeout (nothing else can happen) and TAIL times at most, so a
 *      livelock of ATTACH/ATTACH_ACK becomes a quiescent state that is seen.
 *
 * Protocol changes this model found necessary (on by default; each can be
 * turned off with -DNO_FIX_x, all with -DSPEC_AS_WRITTEN):
 *  FIX_DST     A request also carries the receiver's incarnation as the
 *              sender last learnt it (HELLO/HELLO_ACK); a site takes a
 *              request only if it names its current incarnation.  Without
 *              it a replica that restarted takes a duplicate PUSH from
 *              before its restart (its memory of the last seq taken is
 *              gone), so a clean region at the owner is stale at the
 *              replica: (b) fails, and a later migrate reads old data.
 *  FIX_NEWEST  A site's (generation, role) only grows (yielding G <
 *              owner/replica G < yielding G+1).  Each site keeps the newest
 *              statement of the peer's role and generation it has seen
 *              (ATTACH, ATTACH_ACK, HANDOVER = yielding G+1, HANDOVER_ACK ok
 *              = owner G+1, ECANCELED = replica G+1) and ignores an ATTACH
 *              or ATTACH_ACK older than it.  Without it a delayed or
 *              duplicated ATTACH makes a site apply rule 9 (a false "two
 *              owners") or 11: (d) fails.
 *  FIX_REPAIR  The new owner, after sending HANDOVER_ACK, is not Paired: it
 *              pairs again at once, so it replicates and migrates only after
 *              rule 1 (the old owner is a REPLICA of its generation).
 *              Without it, if the old owner gave up waiting (Fenced,
 *              yielding G+1) the new owner can hand G+2 over to it; that is
 *              refused (not a replica), and both sites stay yielding (G+1 /
 *              G+2), rule 11 at both forever: no owner, (d) and (e) fail.
 *  FIX_KEEP    (MAXREREG) dccd keeps per volume UUID, while the volume is
 *              removed and added again within one incarnation of the peer,
 *              the replica's push order (the last seq taken per region, and
 *              in SYNC its kind; the floor) and the newest peer statement
 *              seen (FIX_NEWEST); a new peer incarnation (HELLO) voids the
 *              push order as for a volume present (forget_peer).  Without
 *              it (-DNO_FIX_KEEP) this is FIX_DST's flaw again, per volume:
 *              the owner writes r, pushes it (seq 1), writes r again; the
 *              PUSH is duplicated, one copy taken; the owner pushes r again
 *              (seq 2, floor 2), which the replica takes; the replica's
 *              volume is removed and added again (it forgets seq 2 and the
 *              floor); the duplicate of seq 1, old data still addressed to
 *              this incarnation, is taken; the answer to seq 2 clears the
 *              owner's dirty bit: clean there, stale here, (b) fails (in
 *              SYNC likewise with a duplicated SYNC_WRITE).  Each part is
 *              needed: without the newest statement (-DNO_KEEP_KNOWN) the
 *              old owner that got ECANCELED (owner G+1) and was removed
 *              takes the replica's ATTACH "replica G" sent before it burnt
 *              G+1: rule 11, (d) fails (FIX_NEWEST's flaw; no data is lost
 *              in the checks).  With NR=2 and a duplicate, keeping the last
 *              seqs but not the floor, a push from before the removal below
 *              the floor is taken (the last seq of its region was forgotten
 *              when the floor passed it, as MUTANT_FLOOR); keeping the floor
 *              but not the last seqs, a duplicate above a floor held back by
 *              the other region's push is taken: (b) fails both times.
 *  FIX_DETACH  (MAXREREG) a site that drops a volume says DETACH, and the
 *              peer unpairs the volume, so that a migrate toward a site
 *              that has no volume is refused as not paired instead of
 *              sending a HANDOVER nobody takes.  A liveness fix (the model
 *              checks no liveness of a migrate); the model checks that it
 *              is safe.  Every check passes without it too
 *              (-DNO_FIX_DETACH): safety does not depend on it.
 *
 * Mutants (each must give a counterexample):
 *  MUTANT_C1    the owner arms and pushes a region whose push is in flight,
 *               and every successful PUSH_ACK clears (review C1);
 *  MUTANT_C1_CLEAR the owner arms and pushes a region again once its push
 *               is answered but before that answer's CLEAR_DIRTY was sent
 *               (dccd did, found by the rewrite scenario in CI);
 *  MUTANT_H1    the old owner sends HANDOVER before it persists YIELDING: it
 *               stays OWNER G until the ack (review H1);
 *  MUTANT_FLOOR the replica forgets seqs below the floor but does not drop
 *               pushes below it (needs NR=2).
 *  MUTANT_TAKE_VALID the new owner persists OWNER G+1 without making the
 *               HANDOVER's set invalid: it serves its stale copies.
 *
 * Abstractions (what this model does not say anything about):
 *  - Data: a copy of a region (a disk, or a PUSH or FETCH_REPLY in flight)
 *    is one bit, "is the latest acknowledged write"; a write makes its own
 *    disk the latest and every other copy stale.  Exact for (b) and (c),
 *    since copies are only ever compared with the latest write.
 *  - A write is one step (dirty committed, data written, write ended, which
 *    disarms, acknowledged); CLEAR_DIRTY is one step (the kernel's epoch
 *    drain and flush make it atomic w.r.t. writes).  Disks are durable at
 *    once (no volatile write cache: review M1 is not modelled).  Partial
 *    writes need the region valid; a whole-region write may make an invalid
 *    region valid when no fetch is under way; failed writes (H3) are not
 *    modelled.
 *  - Not modelled: PULL/PULL_REPLY, INVALID_SET (the replica's hydration),
 *    PROGRESS (see LAG), PING/PONG, HANDOVER_ASK (only its ECANCELED
 *    outcome), the multi-part encoding of HANDOVER (one message = one
 *    complete set), the bulk/control split (one bag: any order), replication
 *    batching (each PUSH_ACK clears at once), rate and window limits, a dccd
 *    restart without a power cut (a new incarnation with the kernel state
 *    kept; a volume removed and created again within one incarnation is
 *    modelled, MAXREREG), table reloads (the target keeps the dccd's
 *    registration, so dccd keeps the volume), the refusal (ENOENT) of a
 *    message for a volume that is away, metadata errors (M4), volume UUIDs
 *    (one volume: what dccd keeps per UUID is kept for it).
 *  - Timeouts are nondeterministic: a handover may time out at any moment
 *    while Sending; a fetch is given up only once its FETCH or answer was
 *    lost (a late answer to a forgotten fetch comes from link losses and
 *    power cuts instead).  A site re-asks (ATTACH) or says HELLO again only
 *    when its previous one and the answer are no longer in flight.
 *  - Seqs start at 1 in each incarnation (the worst case); incarnations
 *    are 1, 2, 3 per site, so "older" is visible to the model, but a site
 *    that restarted takes any HELLO (it cannot know an incarnation is dead).
 *
 * State-space reductions (exact: the reduced state behaves as the full
 * one): after every step seqs are renumbered by rank per incarnation;
 * messages that can never be taken again are removed; memory that can no
 * longer change anything is cleared (see gc(), renum(), forget_unused()).
 * SYNC adds: a replica's last seq taken for a region and its floor are
 * cleared once no push or sync write it may still take is in flight at or
 * below them (below, for the floor), a push's floor once none is below it,
 * and a sync write whose answer nobody waits for is removed once its
 * receiver will never apply it (without FIX_KEEP, below its push order only
 * once no volume removal can come: one would make it forget that order).
 * CONFIRM adds: (o)'s ghost and the AHEAD flag are cleared while no force
 * can come and none came (only a forced generation reads the evidence).
 * CONTINUE adds: once a force happened and no failover can come
 * (FENCE_DEAD), the fence is cleared: the witness's fence and epoch, the
 * owners' epochs and presync, the UPTODATEs in flight (only a CLAIM, and
 * (j) and (k), which a force turns off, read them; a dropped UPTODATE no
 * longer fills the witness link: that only drops a send less often).
 * -DNO_REDUCE turns them off (the search is then far larger).
 *
 * FAILOVER (-DFAILOVER, docs/failover-design.md: leases, a witness,
 * dccctl failover, --force, an old owner coming back, resolve).  Without
 * the flag the preprocessed model is token for token the one above, so the
 * eleven checks keep their meaning.  With it:
 *
 *  Witness.  Its record (generation, owner), persisted before it answers
 *  (MUTANT_TWICE: answered first, persisted by a later step), initially
 *  (1, A).  RENEW gen site is granted iff the record is (gen, site), or
 *  (FIX_NEWER) gen is above the record, which records (gen, site); CLAIM
 *  gen+1 site iff the record is (gen, the other site) and the lease has
 *  ended, then the record is (gen+1, site) and CLAIMED is sent.  Both
 *  sites' links to it are one bag of two messages that may lose any
 *  message at any time without bound (a cut link loses every one; a cut
 *  and a heal are a run of losses), in any order, never duplicated.  A
 *  power cut of the witness (MAXWCRASH) keeps the persisted record; its
 *  view of the lease is volatile and counts as held for a full period after
 *  a restart, which T3 below already says, so in the correct model the cut
 *  changes nothing but the mutant's unpersisted record.
 *
 *  Time.  No clocks: deadlines are events, constrained only in order.  The
 *  model assumes exactly what the design's arithmetic gives (owner:
 *  lease_until = t0 + L(1-drift) - margin from its send time t0; granter:
 *  recv + L from its receipt; clock rates within drift of each other):
 *   T1 an owner's lease (peer: pl, witness: wl; the core's Lease::held)
 *      may end at any moment (an answer came late, renewals stopped, the
 *      host stalled);
 *   T2 the granter's side of a grant (the replica's promise, the witness's
 *      lease) ends only after the owner's side of every grant it gave
 *      ended: the promise (pro, Promise::binds) ends when the owner holds
 *      no peer lease, the witness's lease is over when no site holds a
 *      witness lease;
 *   T3 a restarted site counts a promise it may have given as running
 *      (pro = 1 after a power cut), a restarted witness its lease, so T2
 *      holds across power cuts; an owner that restarts holds no lease.
 *  Reductions: a granting answer (PONG, the witness's grant) is taken at
 *  the instant it is sent, if the owner is still the same incarnation and
 *  owner of that generation (holding a lease sooner only allows more
 *  writes; a late or lost answer is a lease that ends at once, T1); an
 *  owner renews a lease only once it ended (renewing while it holds one
 *  moves both ends later, which T1 and T2 allow anyway); a promise ends at
 *  the first moment T2 allows (only a CLAIM, a later step, reads it).
 *  MUTANT_RECEIPT: the owner counts from the PONG's receipt, so T2 does
 *  not hold for the promise: it may end while the owner holds the lease.
 *
 *  Sites.  A site accepts writes (ACCEPTS) as before and only while it
 *  holds a peer or witness lease (a forced owner needs none) and is not the
 *  old site of a split brain; reads are taken to need the same (property
 *  (c) is about them).  An owner PINGs its replica (a request, in the
 *  bag); a replica of that generation that is not failing over promises.
 *  dccctl failover (MAXFO) at a replica: refused if the replica lacks a
 *  region (refusal 2; MUTANT_NOHYDRATE: not refused; its second half, the
 *  owner's report, with LAG, below); refusal 1 (peer reachable) is not
 *  modelled, safety must not depend on it; refusals 3 and 4 are the CLAIM's
 *  refusal, and refusal 3 also an owner by force (FIX_FORCED_LEASE).
 *  Phase FailingOver: no promise is given; once its promise ended
 *  (MUTANT_NOWAIT: at once) it sends CLAIM; on CLAIMED it persists owner
 *  G+1 with HOW_FAILOVER; it may give up at any moment.  --force
 *  (MAXFORCE): owner G+1 at once, HOW_FORCED, no witness (the forced owner
 *  writes without a lease).  ATTACH and ATTACH_ACK also state how the
 *  sender's generation began (how[]: its origin), its evidence (whether
 *  it has dirty regions; in SYNC, FIX_AHEAD: its AHEAD flag and an
 *  unconfirmed region, see AHEAD above), and the split brain it recorded
 *  (none, old or new; not its generation).  New pairing rules, applied
 *  first (15 and 16, then 12 to 14, as core::decide):
 *   12 old owner (owner, or yielding a handover never taken) meets a newer
 *      owner by failover, no split: persist replica of its generation, its
 *      dirty regions invalid (fetched or pushed back), dirty bits dropped;
 *   13 the newer owner meets the old one, no split: wait;
 *   14 split brain: the newer generation was forced and the old site has
 *      that evidence, or either recorded one (the older site meets
 *      anything): persist SB_OLD (serves nothing) with the newer
 *      generation, or SB_NEW (serves on); an SB_OLD site that meets a
 *      still newer owner records that generation; a site with either pairs
 *      with nobody (no push, fetch or handover) until rule 1 or 2 clears it;
 *   15 the older site (an owner or yielding site older than an owner of S,
 *      not SB_NEW, whether or not it recorded the split; or a plain replica
 *      of S) meets a replica of S+1 with origin HOW_RESOLVED: persist owner
 *      S+1, its dirty regions kept (and replicated);
 *   16 that replica of S+1 meets such an older site: wait.
 *  MUTANT_NOSPLIT: the old site ignores its dirty bits (rule 12 after a
 *  force even though it wrote since); MUTANT_RECORDED_ONLY: rules 15 and
 *  16 as before dccd's review fixes (65b8e24), only for an older site
 *  that recorded the split (with S) or a replica of S, so that a newer
 *  site that recorded the split from an ATTACH whose answer was lost (or
 *  overtaken by its resolve's ATTACH) leaves the older site at rule 11:
 *  (d) fails.
 *  dccctl resolve --discard-local (MAXRESOLVE) at either site of a split
 *  brain: at the SB_OLD site, replica of the generation it recorded; at
 *  the SB_NEW site (the owner), replica of the next generation S+1 with
 *  HOW_RESOLVED; either way its dirty regions invalid, in one step (dccd
 *  stops the I/O first).  Rule 15 clears the older site's late[] (the
 *  admin named the outcome, as a resolve there does).  An owner pushes a
 *  region its replica lacks as well as a dirty one (INVALID_SET, read from
 *  the replica's state).  Resolves at both sites that crossed leave the
 *  older site a plain replica of S and the newer one a replica of S+1;
 *  --force at the newer one before they meet makes it owner S+2, and a
 *  replica of S meets an owner of S+2: rules 17 and 18 (the replica wrote
 *  nothing, it becomes the owner's replica; the owner waits).  Without
 *  them (NO_FIX_BEHIND) that is rule 11 at both and (d) fails
 *  (flaw-cross-force).
 *
 *  SYNC (-DSYNC, with FAILOVER): a write completes on the owner's disk and
 *  pends (the kernel holds it); one write of a region pends at a time.
 *  The owner's shipper sends it, while paired, as SYNC_WRITE (region,
 *  seq, generation): its seq comes from the pushes' count and is taken as
 *  it reads the write's sectors, which the write has reached; it travels on
 *  another connection than pushes, so in any order with them (the bag).  A
 *  replica of that generation with no split brain recorded takes it in seq
 *  order with the pushes of its region (PushOrder::take_write), else
 *  answers ESTALE: below its floor, ESTALE; newer than the last push or
 *  sync write it took for the region (taken[], tsync[]: which kind),
 *  applied (its sectors only: an invalid region stays invalid) and
 *  remembered; older than the last taken, if that was a push, covered (that
 *  push read the region after the write landed: it carried it), OK with
 *  nothing written; else ESTALE.  A PUSH is refused at or below the last
 *  taken of either kind.  On SYNC_ACK OK the owner acknowledges the write
 *  if it still accepts writes (else it fails); on an error the write fails;
 *  an answer for a write no longer pending is ignored.  A PUSH acknowledges
 *  nothing, and the floor the owner sends with it stays at or below its
 *  oldest unanswered sync write.  An unanswered sync write is sent again
 *  with a new seq when the link goes, or (its 3 s timeout) once it or its
 *  answer was lost.  Data is then two bits per copy: cur ("holds the latest
 *  acknowledged write, perhaps with a newer unacknowledged one") and np
 *  ("holds the pending write as well"); an acknowledgement makes cur = np
 *  for every copy.  A SYNC_WRITE in flight carries two bits too: "is the
 *  pending write" and "is not older than the latest acknowledged write";
 *  applied, it leaves np = its first bit and the copy's cur, and cur = the
 *  copy's cur and its second bit (it writes some sectors only).  Without
 *  CONTINUE an owner whose replica is away completes no write (the
 *  `suspend` policy).  MUTANT_SYNC_ACK: acknowledged when its SYNC_WRITE
 *  leaves.  MUTANT_SYNC_ORDER: the replica applies a sync write without
 *  remembering its seq, so a push read before the write landed is still
 *  taken after it.  Without SYNC: ASYNC, as above.
 *  CONFIRM (with SYNC; -DNO_CONFIRM turns it off): each write is on the
 *  replica once its SYNC_ACK OK came, so the owner's dccd may clear the
 *  dirty bit of a region whose writes the peer all confirmed without
 *  pushing it, and does before a handover reads its dirty set, so that
 *  the new owner is not sent to fetch back what it holds.  The kernel
 *  keeps, per region, "a write ended without the peer's confirmation"
 *  (unc: failed, acknowledged alone (WRITES_DONE without CONFIRMED), or a
 *  whole-region write; every dirty region after a load), cleared with the
 *  dirty bit, and such a clear (DCC_CLEAR_CONFIRMED) leaves a region with
 *  that bit or with a write held.  The clear is an event that may come at
 *  any moment or never: a dccd that clears at once, and one that keeps a
 *  confirmed region dirty (warm, as DRBD's activity log does, so that the
 *  next sync write to it waits for no metadata commit) until a handover
 *  or an eviction, are both this model.  MUTANT_CONFIRM_UNC,
 *  MUTANT_CONFIRM_HELD: without one of the two tests; each fails (b) in
 *  seven steps (at depth 21: a step is three transitions, see world()).
 *  AHEAD (FIX_AHEAD, with CONFIRM; -DNO_FIX_AHEAD: as before, any dirty
 *  region).  With warm regions a sync owner nearly always has dirty
 *  regions, so "has dirty regions" no longer says that it wrote what its
 *  peer lacks: a forced failover would nearly always end in a split brain
 *  that is none.  The superblock has a flag, AHEAD (ahd, persisted): "this
 *  site may hold a write it acknowledged that the peer lacks".  The kernel
 *  sets and persists it before it completes a held write without the
 *  peer's confirmation and without failure (here: going alone, in the
 *  acknowledgement's step), and clears it in the commit of a clear (a
 *  push's CLEAR_DIRTY, or CONFIRM) after which no region of the site is
 *  unconfirmed, or of a SET_ROLE that drops every dirty bit (rules 2, 5
 *  and 12, a handover's CLEAN, a resolve; a power cut inside that commit,
 *  G_TORN, leaves it set: the superblock is written after the bitmaps).
 *  The evidence (EVIDENCE()) a site states in ATTACH and ATTACH_ACK, and
 *  reads for itself at rules 12 and 14, is then the flag and an
 *  unconfirmed region; in ASYNC, any dirty region as before.  And
 *  presync is read from the unconfirmed regions (and valid) instead of
 *  the dirty ones: a warm region holds no write acknowledged alone, and
 *  counted it would never leave presync (nothing pushes it) until written
 *  again or evicted, and the fence would stand.  unc is cleared only with
 *  dirty, so this is a subset, left as before (no longer dirty, or pushed
 *  after presync was read).  MUTANT_AHEAD_LATE: the flag is set in
 *  memory at the acknowledgement and persisted by a later step; after a
 *  power cut between the two (unc = dirty, the flag clear) the old owner
 *  applies rule 12 to a write it acknowledged alone after the force: (g)
 *  fails (mutant-ahead-late).  MUTANT_AHEAD_CLEAR: the flag goes at every
 *  clear, though another region is still unconfirmed (NR = 2): (g) fails
 *  likewise (mutant-ahead-clear).  With NR = 1 it is the fix.
 *  Two bounds of the environment, for the checks of this evidence only:
 *  QUIET_FORCED, an owner by force writes nothing (its writes take
 *  nothing from what the old site holds or states; here they only take
 *  away the old site's pending write of their region, one write of a
 *  region pending at a time); CUTS_AFTER_FORCE, a power cut comes only
 *  once a force happened (which keeps the one the flag is persisted for:
 *  between an acknowledgement alone and the old owner's meeting the new
 *  one).  Without them a force with CONTINUE is 16.8 M states without a
 *  power cut (continue-force-wide), and more than 37.7 M with one (not
 *  completed in 8 GB).
 *
 *  CONTINUE (-DCONTINUE, with SYNC: on_peer_loss = continue).  An owner
 *  may go on without its replica only once the witness fenced that
 *  replica.  It sends OUTDATE gen site (MAXOUT times, at any moment a
 *  write of it pends: a superset of "its writes wait for a replica it does
 *  not hear"; dccd asks only while not paired, so an owner that is paired
 *  stops hearing its replica in that step, a link loss it sees that
 *  MAXLINK does not count); the witness grants it iff its record is (gen,
 *  site), and then persists "the replica of gen is outdated" with a new
 *  epoch.  The grant is taken at once, as a lease's is: the owner takes
 *  its epoch, and goes alone only if it is not paired again by then
 *  (core::GoingAlone::answered: a late grant fences the replica, and the
 *  owner's writes go on waiting for it).  Alone, the owner acknowledges
 *  each pending write alone (its regions stay dirty and are pushed later).  The
 *  witness refuses every CLAIM while the fence stands; a record of a newer
 *  generation (a CLAIM granted, a RENEW above the record) has none, its
 *  replica being the old owner, which holds what it wrote.  Paired again,
 *  the owner's writes wait for the replica again, and it reads presync
 *  (dccd's name): the regions unconfirmed (FIX_AHEAD; before, dirty) and
 *  valid at that moment, which hold every write acknowledged alone.  A
 *  region leaves presync once a push that read it after that moment is
 *  answered (a push in flight then does
 *  not count: dccd's presync_seq); presync is read afresh at a restart
 *  (the persisted dirty bits) and whenever the site becomes owner.  dccd
 *  notices that it is paired again before it pushes, and has cleared by
 *  then the dirty bits its answers allowed, so no push crosses that moment
 *  here; CROSSING_PUSH lets one (a push read before it, answered after it,
 *  or answered before and cleared after), as dccd's switch from async to
 *  sync does, which reads presync at any moment.  Once presync is empty
 *  and nothing is missing at the replica (regions written since may be
 *  dirty: their writes waited for the replica; dccd's caught_up), the
 *  owner sends UPTODATE gen site epoch, which lifts the fence iff the
 *  record is still (gen, site) and
 *  (FIX_EPOCH) the epoch is the last OUTDATE's.  Its answer is taken at
 *  once (the owner forgets the epoch); until then the owner sends it again
 *  whenever none is in flight (dccd: every second until answered), so a
 *  lost one is not the end of it.  A restart, a migrate or rule 12 ends
 *  going alone, and the epoch is forgotten; (FIX_LEARN) a granted RENEW
 *  states the record's fence, and the owner learns its epoch again.
 *  MUTANT_NOFENCE: alone without asking the witness; MUTANT_EARLY_CLEAR:
 *  UPTODATE while regions written alone are not yet at the replica;
 *  -DNO_FIX_EPOCH: an UPTODATE delayed past the next OUTDATE lifts the
 *  new fence; MUTANT_STALE_PUSH (with CROSSING_PUSH): the answer to a push
 *  read before presync was read takes its region out (no presync_seq),
 *  though a write acknowledged alone after that read is not at the
 *  replica.  Each lifts a fence (or goes alone without one) while the
 *  replica lacks an acknowledged write: (k) fails, or (i) once the
 *  replica failed over.  With CROSSING_PUSH alone, the region that push
 *  read stays in presync once its dirty bit is cleared, as in dccd: it is
 *  never pushed again, and the fence is never lifted, (j) fails (a flaw of
 *  dccd's, see FIX_PRESYNC below).
 *
 *  LAG (-DLAG, with FAILOVER, in ASYNC: the second half of refusal 2, the
 *  owner's report).  The owner, paired, sends PROGRESS (a request with no
 *  answer, in the bag): whether any region is not yet the same at both
 *  sites, that is dirty here (the answer to a push armed after the
 *  region's last write clears the bit), owed to the replica (it lacks it;
 *  read from its state, as for pushes) or missing here.  dccd counts them
 *  (Daemon::tell_progress: the kernel's dirty count, the regions owed, the
 *  regions not valid here); refusal 2 asks only whether the count is 0,
 *  so the model sends "none" or "some".  It sends one at any moment (dccd:
 *  when the count changes, and every 2 s, or 30 s when it is 0), one in
 *  flight at a time (a later report only replaces an earlier one, so each
 *  run with more in flight has one with the same reports taken last).  The
 *  count and the send are one step; dccd reads the kernel's count from its
 *  status line just before it sends, so a write acknowledged in between is
 *  one acknowledged after the count.  A site that is not an owner takes a
 *  PROGRESS of its own generation (Daemon::handle_request; from the
 *  owner's incarnation it knows, FIX_DST), paired or not, failing over or
 *  not, sent after the statement it last paired on (FIX_PROG_PAIRING,
 *  below), and keeps the last one (last_owner_backlog); it forgets it when it
 *  starts (a power cut, the volume added again), when a statement pairs it
 *  again (an ATTACH or ATTACH_ACK finding it not paired: Daemon::paired;
 *  not on a link loss, nor when it was paired already) and when it
 *  becomes owner (Daemon::role_changed).  A failover without --force is
 *  refused unless the last report it took since is "none"
 *  (core::failover_refusal, refusal 2).  Property (m) says what that
 *  promises.  A ghost bit per region on each PROGRESS in flight, "written
 *  since its count" (set by every write), is taken with it (pu[]), and
 *  every write sets pu[] at both sites.  MUTANT_PROG_PUSH: a dirty region
 *  whose push is unanswered counts as the same at both sites (dccd counting
 *  the regions it queued, say, instead of the kernel's dirty bits): the
 *  owner writes r, pushes it, reports none; the replica takes the report
 *  before the push and fails over without it: (m) fails.
 *  SINCE_PAIRED (with LAG): (m) also protects the writes the owner
 *  acknowledged while apart (not paired) before it sent the statement
 *  (ATTACH, ATTACH_ACK) on which the site last paired again: what
 *  forgetting the report at pairing is for (Daemon::paired: "the owner
 *  may have written while apart: until its next report a failover here
 *  cannot tell what this copy lacks").  Ghosts: apw[] (the latest write of
 *  r was made apart), a bit per region on an owner's statement (that
 *  write came before it), which the pairing on it clears on the reports
 *  in flight to the site.  dccd takes a PROGRESS of its generation
 *  whenever it comes, so one the owner sent before the sites were apart,
 *  still in flight once the site paired again, brings back the report the
 *  pairing forgot, counted before those writes: flaw-prog-pairing (both
 *  sites see the link go, MAXLINK=2, -DNO_FIX_PROG_PAIRING).  In dccd
 *  PROGRESS travels on the owner's control connection, the pairing may be
 *  made on the replica's (its ATTACH, the owner's ATTACH_ACK), and a link
 *  loss dccd sees closes neither, so one sent into a connection that
 *  outlived it may come after the pairing; the owner's next report, sent
 *  at once, follows it on that connection, so the link must go again
 *  before it arrives (the model, without refusal 1, fails over at once).
 *  The fix (FIX_PROG_PAIRING, FIX_OWN_ATTACH) is among the design
 *  changes below.
 *  SINCE_UNPAIRED (with LAG), property (n): a site that paired again never
 *  takes a report counted before it last stopped being paired (what it
 *  forgets the report at pairing for, whatever the owner wrote).  Ghosts:
 *  wpd[] (paired after the last step) and a bit on each PROGRESS in flight
 *  to a site, set as the site stops being paired (check()).
 *
 *  Properties (with FAILOVER; "forced" = a forced failover happened):
 *   (a) at most one site accepts writes, unless forced;
 *   (f) no site accepts a write once the other owns a newer generation,
 *       unless forced;
 *   (g) rule 12 (becoming replica quietly) is never applied by a site that
 *       wrote under (f)'s condition; rule 14 only after a force.  In SYNC
 *       "wrote" is "acknowledged a write the newer generation lacks": the
 *       ghost late[] is set where a write is acknowledged while the peer
 *       owns a newer generation and the peer's copy does not hold it (np,
 *       valid), not where it lands ((f) is asserted there).  A write that
 *       lands after the force is held: the new owner refuses its sync
 *       write, so unless the site acknowledges it alone it fails; it
 *       guarantees nothing, and rule 12 may drop it.  Nor is a write a
 *       divergence that the peer confirmed, or took in a push that read
 *       it, before the force: the peer holds it.  AHEAD (above) counts
 *       neither, and with the ghost set where writes land (g) fails at
 *       once: a write lands after the force, the old owner meets the new
 *       one, rule 12 (sync-force); set at every acknowledgement after
 *       the force, it fails once a SYNC_ACK OK that the peer sent before
 *       the force arrives after it;
 *   (h) never merged: no site with a split brain recorded sends or takes
 *       a PUSH or a fill;
 *   (i) SYNC: the latest acknowledged write of each region is on a disk
 *       where the region is valid, unless forced;
 *   (b), (c) in SYNC unless forced; in ASYNC only until the first failover
 *       (it may lose the acknowledged writes not yet pushed, by design);
 *   (d) rules 9 to 11 never;
 *   (e) END_CHECK: at the end one owner and one replica paired, or both
 *       sites report a split brain; and if a site wrote under (f)'s
 *       condition (and was not resolved), both report it;
 *   (j) CONTINUE, END_CHECK: at the end, if one owner and one replica are
 *       paired, the replica holds everything the owner acknowledged (the
 *       owner has nothing dirty, the replica lacks nothing) and nothing
 *       was forced, no fence stands for the owner's generation: the
 *       replica could fail over again.  This asks only what the protocol
 *       does: no witness message is lost once the environment stopped, an
 *       unanswered UPTODATE is sent again, and dccd's renewals, which go on
 *       for ever, are one more after the stop by an owner that holds no
 *       witness lease (one that holds one renewed since it restarted, and
 *       took at once every fence set since).  Without that RENEW, or
 *       without the resend, (j) fails even with FIX_LEARN;
 *   (k) CONTINUE: the witness lifts a fence only while the replica holds
 *       the latest acknowledged write of every region (valid there),
 *       unless forced: what the UPTODATE states.  (i) would fail only
 *       once that replica failed over and the old owner dropped what it
 *       wrote (rule 12), a dozen steps later;
 *   (m) LAG: refusal 2 lets a failover without --force through only while
 *       the site holds, for each region, the latest acknowledged write, or
 *       that write was acknowledged after the owner counted the last
 *       report the site took: a failover loses no write acknowledged
 *       before that count (what the site holds only grows until the grant,
 *       and a later write is after the count, so this is checked at the
 *       request).  Until the first failover, as (b) and (c) in ASYNC.
 *       SINCE_PAIRED: nor a write made while apart before the statement
 *       the site last paired on;
 *   (n) SINCE_UNPAIRED: a site that paired again never takes a report
 *       counted before it last stopped being paired;
 *   (o) CONFIRM: rule 14 is applied only once some write was acknowledged
 *       alone (aal, a ghost): a split brain is recorded only where a site
 *       may have written what its peer lacks.  Not the converse: the flag
 *       stays up after a power cut (every dirty region unconfirmed) or a
 *       failed write until a clear leaves nothing unconfirmed, so a force
 *       may still meet an old site that holds nothing its peer lacks and
 *       record a split brain.  Without FIX_AHEAD (flaw-no-ahead) (o) fails:
 *       a dirty region, warm or with a write held, is evidence.
 *
 *  Design changes this model found necessary (docs/failover-design.md):
 *   FIX_ATTEMPT a CLAIMED counts only in the failover attempt that sent the
 *               CLAIM after its own wait.  Without it (-DNO_FIX_ATTEMPT) a
 *               CLAIM sent by an attempt that gave up is granted later,
 *               after the replica promised again, and a second attempt
 *               takes it before its promise ended: two writers.
 *   FIX_RECLAIM the witness grants CLAIM gen site again when its record is
 *               already (gen, site) and the lease ended: a replica whose
 *               CLAIMED was lost (or that lost power before persisting)
 *               could otherwise never fail over again.  A liveness fix;
 *               the model checks that it is safe.
 *   FIX_FORCED_LEASE (a534c25) a failover without --force is refused
 *               when the owner of the replica's generation took it by
 *               force (refusal 3), as the replica last heard it (a bit per
 *               site, fof[]).  A forced owner serves without a lease, yet
 *               its RENEW records its generation at the witness
 *               (FIX_NEWER), so without it (-DNO_FIX_FORCED_LEASE) its
 *               replica's failover is granted once that lease ended while
 *               the forced owner writes on; meeting the new owner (origin
 *               failover) it applies rule 12 and drops those writes
 *               unreported: (g) fails (flaw-forced-lease).  A safety fix
 *               dccd needed.
 *   FIX_NEWER   the witness grants (and records) a RENEW of a generation
 *               above its record (-DNO_FIX_NEWER: only the record's own
 *               generation): the owner after a handover or a force
 *               otherwise never gets a witness lease, and no later
 *               failover is ever granted.  A liveness fix; the model
 *               checks that it is safe.  (Waiting for the recorded lease
 *               to end first made no difference to safety in the checks
 *               here, and only kept an old owner writing longer.)
 *   FIX_LEARN   (CONTINUE; core::GoingAlone) every answer of the witness
 *               about the owner's own record (its generation, itself)
 *               carries the record's fence, its epoch or 0, and the owner
 *               takes it: not alone, as its epoch; alone, if newer than
 *               its own.  The model has it on a granted RENEW (taken at
 *               once, only by the owner of that generation, as the lease
 *               is), the answer that always comes again.  Without it
 *               (-DNO_FIX_LEARN) an owner that lost power after its
 *               OUTDATE was granted (or, in dccd, whose answer was lost)
 *               no longer knows the epoch: paired again and caught up, it
 *               never sends UPTODATE, and the fence stands for ever, so
 *               its replica can never fail over: (j) fails.  A liveness
 *               fix; the model checks that it is safe (an UPTODATE is sent
 *               only once the replica holds everything, whatever epoch it
 *               names).
 *   FIX_PROG_PAIRING (LAG; core::Ownership::takes_report) a statement carries
 *               its sender's watermark: an ATTACH its seq, an ATTACH_ACK a seq
 *               the sender takes for it (only an owner's is read here); a
 *               PROGRESS its sender's last seq. A site that pairs again on the
 *               owner's statement keeps that watermark (pfl) and takes only a
 *               report sent after it; after a handover made it replica of the
 *               new generation, any; after a start, or once the owner's
 *               incarnation is new, none until it pairs. Without it,
 *               flaw-prog-pairing (above). A safety fix dccd needed.
 *   FIX_OWN_ATTACH (with FIX_PROG_PAIRING; Ownership::pairing_floor) the
 *               watermark comes only from the answer to an ATTACH of the site's
 *               own (aseq: sent since it last lost the peer); paired on the
 *               owner's ATTACH, a site takes no report (pfl 0) and says ATTACH
 *               itself, and the answer sets the floor, paired already or not.
 *               The owner's ATTACH, like its PROGRESS, may have been on its way
 *               since before the sites were apart: without this
 *               (-DNO_FIX_OWN_ATTACH) a late one pairs the site again and lets
 *               in a report counted before the link loss, and (n) fails
 *               (flaw-late-attach, in ten steps, three link losses). The review
 *               of the first form of the fix found it; the data-loss form of
 *               the property (SINCE_PAIRED) cannot see it, as no write precedes
 *               that statement. An ATTACH of the site's own still out as it
 *               pairs on the owner's is forgotten: its answer may predate the
 *               owner's writes made apart (MUTANT_KEEP_ATTACH: (m) fails,
 *               mutant-keep-attach). A safety fix dccd needed. The watermarks
 *               are seqs, renumbered with the others (an ATTACH_ACK names its
 *               sender's incarnation in its dst field for it); COVER_FRESH
 *               shows that a report taken after pairing again still lets a
 *               failover through.
 *   FIX_PRESYNC (CONTINUE; dccd's since 1f5dcce; on with CONFIRM, off
 *               with -DNO_CONFIRM so that flaw-presync shows the protocol
 *               without it) a
 *               region counts in presync only while it is dirty: cleared,
 *               it was pushed by a push armed after every write it holds,
 *               whatever that push's seq.  dccd as first built kept a region in
 *               presync when presync is read while its push is in flight
 *               (or answered and not yet cleared): the answer does not count
 *               (presync_seq), the clear cleans the region, nothing pushes
 *               it again, and the owner never lifts its fence (until it
 *               restarts or the region is written again).  dccd's alone
 *               path never reads presync so (see CROSSING_PUSH); its switch
 *               from async to sync (ctl_mode, tell_shipper) does, with a
 *               push in flight.  With CROSSING_PUSH, (j) fails without it
 *               and holds with it, and the checks stay safe.
 *  Not modelled: W_YIELD (the witness's part in a planned handover, which
 *  only makes FIX_NEWER's grant come sooner), a forced CLAIM at the witness,
 *  more than one volume per witness record; with CONTINUE, the trigger of an
 *  OUTDATE (any moment a write pends instead), the policy or the mode
 *  changing (CROSSING_PUSH stands for what a switch to sync does to presync);
 *  the ATTACH a replica paired on the owner's ATTACH sends for its report
 *  floor (FIX_OWN_ATTACH) only with LAG, and only while a failover may
 *  still come (it is answered as any other; in a handover it is ignored,
 *  or burns as an unpaired replica's would);
 *  PROGRESS only with LAG, in ASYNC (SYNC's risk, presync and owed, is not
 *  counted: (i) holds there without that refusal), refusal 2's count only as
 *  zero or not.
 */

/* ------------------------------------------------------------------ bounds */
#ifndef NR
#define NR 1
#endif
#ifndef MAXCRASH
#define MAXCRASH 2      /* crashes (power cuts), both sites together */
#endif
#ifndef MAXLOSS
#define MAXLOSS 1       /* messages lost */
#endif
#ifndef MAXDUP
#define MAXDUP 1        /* messages duplicated */
#endif
#ifndef MAXLINK
#define MAXLINK 1       /* link losses (heartbeat timeouts) seen by one site */
#endif
#ifndef MAXMIG
#define MAXMIG 2        /* migrate requests */
#endif
#ifndef MAXREREG
#define MAXREREG 0      /* volume removals and re-adds within one incarnation */
#endif
#ifndef K
#define K 4             /* messages in flight at most (a fuller link drops); 3 or 4 */
#endif
#if K > 3
#define SLOT3(x) x
#define OR_SLOT3(x) || x
#else
#define SLOT3(x) skip
#define OR_SLOT3(x)
#endif
#define MAXSEQ 15       /* seqs per incarnation (4 bits on the wire) */
#ifdef FAILOVER
#ifndef MAXFO
#define MAXFO 1         /* dccctl failover requests */
#endif
#ifndef MAXFORCE
#define MAXFORCE 0      /* dccctl failover --force requests */
#endif
#ifndef MAXWCRASH
#define MAXWCRASH 1     /* power cuts of the witness */
#endif
#ifndef MAXRESOLVE
#define MAXRESOLVE 1    /* dccctl resolve --discard-local requests */
#endif
#ifndef NO_FIX_RECLAIM
#define FIX_RECLAIM
#endif
#ifndef NO_FIX_ATTEMPT
#define FIX_ATTEMPT
#endif
#ifndef NO_FIX_FORCED_LEASE
#define FIX_FORCED_LEASE
#endif
#ifdef LAG
#ifndef NO_FIX_PROG_PAIRING
#define FIX_PROG_PAIRING
#ifndef NO_FIX_OWN_ATTACH
#define FIX_OWN_ATTACH
#endif
#endif
#endif
#ifdef LAG
#ifdef SYNC
#error LAG models the ASYNC count (in SYNC the risk is presync, not modelled)
#endif
#endif
#if defined(SYNC) && !defined(NO_CONFIRM)
#define CONFIRM
/* a region cleared as confirmed is never pushed again: only FIX_PRESYNC
 * (dccd's) takes it out of presync, or the fence is never lifted ((j),
 * continue-end); flaw-presync shows the flaw with -DNO_CONFIRM */
#ifndef FIX_PRESYNC
#define FIX_PRESYNC
#endif
/* the AHEAD flag: the evidence of rule 14, and presync, read from the
 * unconfirmed bits (-DNO_FIX_AHEAD: any dirty region, as before) */
#ifndef NO_FIX_AHEAD
#define FIX_AHEAD
#endif
#endif
#if (defined(MUTANT_AHEAD_LATE) || defined(MUTANT_AHEAD_CLEAR)) && !defined(FIX_AHEAD)
#error the AHEAD mutants need FIX_AHEAD (SYNC, with CONFIRM)
#endif
#ifdef CONTINUE
#ifndef SYNC
#error CONTINUE is a policy of SYNC
#endif
#ifndef MAXOUT
#define MAXOUT 2        /* OUTDATE requests (the owner going on alone) */
#endif
#ifndef NO_FIX_EPOCH
#define FIX_EPOCH
#endif
#ifndef NO_FIX_LEARN
#define FIX_LEARN
#endif
#endif
#endif

#ifndef SPEC_AS_WRITTEN
#ifndef NO_FIX_DST
#define FIX_DST
#endif
#ifndef NO_FIX_NEWEST
#define FIX_NEWEST
#endif
#ifndef NO_FIX_REPAIR
#define FIX_REPAIR
#endif
#ifndef NO_FIX_KEEP
#define FIX_KEEP
#endif
#ifndef NO_FIX_DETACH
#define FIX_DETACH
#endif
#endif

/* ---------------------------------------------------------- names (doc) */
/* roles (superblock) */
#define OWNER    1
#define REPLICA  2
#define YIELDING 3
/* the daemon's ownership state */
#define Unpaired 0
#define Paired   1
#define Demoting 2
#define Sending  3
#define Fenced   4
#define Taking   5
#ifdef FAILOVER
#define FailingOver 6   /* replica: dccctl failover under way (waits, CLAIMs) */
#endif
/* messages */
#define HELLO        1
#define HELLO_ACK    2
#define ATTACH       3
#define ATTACH_ACK   4
#define PUSH         5
#define PUSH_ACK     6
#define FETCH        7
#define FETCH_REPLY  8
#define HANDOVER     9
#define HANDOVER_ACK 10
#ifdef FAILOVER
#define PING         11  /* owner to replica: heartbeat, asks for a promise; the
                            PONG that carries it is taken at once (see header) */
#endif
#ifdef SYNC
#define SYNC_ACK     12  /* replica to owner: status; OK = the write is durable there */
#define SYNC_WRITE   13  /* owner to replica: the pending write of a region (its
                            sectors); requests are odd, replies even */
#endif
#ifdef LAG
#ifndef FAILOVER
#error LAG is a part of FAILOVER
#endif
#define PROGRESS     13  /* owner to replica, no reply: arg = regions not yet
                            the same at both sites (0 none, 1 some); data, ext:
                            ghosts (see header); SYNC_WRITE's number (LAG has
                            no SYNC) */
#endif
#if MAXREREG > 0
#define DETACH       15  /* the sender dropped the volume (a request: odd; no reply) */
#endif
/* status */
#define OK        0
#define ESTALE    1
#define ECANCELED 2
/* pairing rules, docs/protocol.md "Pairing rules" */
#define R1_OWNS          1   /* owner G     / replica G      paired, this site owns */
#define R2_REPLICA       2   /* replica G   / owner G        paired, drop old dirty */
#define R3_BURN          3   /* replica G   / yielding G+1   persist replica G+1 */
#define R4_TAKE_BACK     4   /* yielding G  / replica G      persist owner G */
#define R5_PEER_TOOK     5   /* yielding G  / owner G        persist replica G, drop dirty */
#define R6_WAIT_BURN     6   /* yielding G  / replica G-1    wait */
#define R7_WAIT_LEARN    7   /* owner G     / yielding G     wait */
#define R8_WAIT_TAKEBACK 8   /* replica G   / yielding G     wait */
#define R9_TWO_OWNERS    9   /* owner       / owner          split brain */
#define R10_NO_OWNER     10  /* replica G   / replica G      no owner */
#define R11_INCONSISTENT 11  /* anything else */
#ifdef FAILOVER
#define R12_FAILED_OVER  12  /* owner G    / owner G+1 by failover: become replica G+1 */
#define R13_WAIT_OLD     13  /* owner G+1 by failover / owner G: wait (it becomes replica) */
#define R14_SPLIT_BRAIN  14  /* both wrote while apart: persist the flag, not paired */
#define R15_TAKE_RESOLVED 15 /* older site / replica S+1 resolved: persist owner S+1, writes kept */
#define R16_WAIT_RESOLVED 16 /* replica S+1 resolved / the older site: wait (it takes S+1) */
#define R17_BEHIND       17  /* replica G   / owner G' > G not by handover: persist replica G' */
#define R18_WAIT_BEHIND  18  /* that owner / the replica: wait (it becomes replica G') */
/* how the current generation began (superblock history) */
#define HOW_HANDOVER 0       /* the first generation, or a handover */
#define HOW_FAILOVER 1
#define HOW_FORCED   2
#define HOW_RESOLVED 3       /* a replica of S+1 by resolve at the newer site (S) */
/* split brain flag (persisted) */
#define SB_NEW 1             /* this site owns the newer generation: it serves on */
#define SB_OLD 2             /* this site owns the older one: it serves nothing */
/* witness messages (a bag of their own) */
#define W_RENEW   1          /* site to witness: RENEW vol gen site (the grant is taken at once) */
#define W_CLAIM   2          /* site to witness: CLAIM vol gen+1 site */
#define W_CLAIMED 3          /* witness to site: the compare-and-set succeeded */
#ifdef CONTINUE
#define W_OUTDATE  4         /* owner to witness: OUTDATE vol gen site (the grant is taken at once) */
#define W_UPTODATE 5         /* owner to witness: UPTODATE vol gen site epoch (no answer) */
#endif
#endif

#define IX(s, r) ((s) * NR + (r))
#define PEER(s) (1 - (s))

/* ------------------------------------------------------------ the link */
/* A message is one int: type(4) to(1) sess(2) dst(2) seq(4) gen(3) reg(1)
 * arg(4) data(1).  The link is a bag of K such ints kept sorted (largest
 * first, 0 = free), so that the order of arrival is not part of the state:
 * any message may be delivered next. */
#define B_TYPE 0
#define B_TO   4
#define B_SESS 5
#define B_DST  7
#define B_SEQ  9
#define B_GEN  13
#define B_REG  16
#define B_ARG  17
#define B_DATA 21
#define FLD(m, b, w) (((m) >> (b)) & ((1 << (w)) - 1))
#define ENC(t, to, se, ds, sq, g, rg, a, d) \
	((t) | ((to) << B_TO) | ((se) << B_SESS) | ((ds) << B_DST) | ((sq) << B_SEQ) | \
	 ((g) << B_GEN) | ((rg) << B_REG) | ((a) << B_ARG) | ((d) << B_DATA))
#define MTYPE(m) FLD(m, B_TYPE, 4)
#define MTO(m)   FLD(m, B_TO, 1)
#define IS(m, t, to) (MTYPE(m) == (t) && MTO(m) == (to))
#define INBAG(t, to) (IS(bag[0], t, to) || IS(bag[1], t, to) || IS(bag[2], t, to) OR_SLOT3(IS(bag[3], t, to)))
#ifdef FAILOVER
/* one more bit: PUSH, FETCH_REPLY: the copy holds the pending write (SYNC);
 * SYNC_WRITE: it is the pending write (and data: it is not older than the
 * latest acknowledged write); ATTACH, ATTACH_ACK: the sender records a
 * split brain */
#define B_EXT  22
#define EXT(m) FLD(m, B_EXT, 1)
/* ATTACH, ATTACH_ACK: the split brain the sender recorded is the newer
 * site's (SB_NEW), else the older's (with ext) */
#define B_SBN  23
#define SBN(m) FLD(m, B_SBN, 1)
#ifdef SINCE_PAIRED
/* ATTACH, ATTACH_ACK of an owner (ghost, SINCE_PAIRED): the latest write
 * of r (r0, r1) was made while it was apart, before this statement */
#define B_APW0 24
#define B_APW1 25       /* B_APW0 + 1 */
#if NR > 1
#define STMT_APW(s) (((role[s] == OWNER && apw[0]) << B_APW0) | ((role[s] == OWNER && apw[1]) << B_APW1))
#else
#define STMT_APW(s) ((role[s] == OWNER && apw[0]) << B_APW0)
#endif
#endif
#ifdef FIX_PROG_PAIRING
/* ATTACH_ACK (FIX_PROG_PAIRING): the sender's watermark, a seq it took for
 * the answer (every request it sends after has a larger one) */
#define B_WM   26
#define WM(m)  FLD(m, B_WM, 4)
#endif
#ifdef SINCE_UNPAIRED
/* PROGRESS (ghost, SINCE_UNPAIRED): counted before its receiver last
 * stopped being paired */
#define B_OLD  30
#endif
#endif

int bag[K];

/* -------------------------------------------------------------- state */
/* persisted */
byte role[2];
byte gen[2];
bit  cur[2 * NR];       /* the data on disk is the latest acknowledged write */
bit  valid[2 * NR];
bit  dirty[2 * NR];
/* volatile */
byte ho[2];             /* Unpaired .. Taking */
byte inc[2];            /* own incarnation (1, 2, 3: a new one per start) */
byte peerinc[2];        /* the peer's, from its latest HELLO/HELLO_ACK; 0 = none */
byte nseq[2];           /* last seq used in this incarnation */
bit  armed[2 * NR];     /* kernel */
byte pseq[2 * NR];      /* owner: seq of the push in flight for the region, 0 = none */
bit  pclr[2 * NR];      /* owner: an answer allows a CLEAR_DIRTY not yet sent */
#ifdef MUTANT_C1
byte pseq2[2 * NR];     /* a second push in flight (the C1 mutant only) */
#endif
byte fseq[2 * NR];      /* owner: seq of the fetch outstanding */
byte taken[2 * NR];     /* replica: last push (or SYNC: sync write) seq taken for the region */
byte floor_[2];         /* replica: highest floor seen */
byte aseq[2];           /* seq of the latest ATTACH, 0 = none outstanding */
byte hseq[2];           /* old owner: seq of the HANDOVER sent (Sending) */
byte hgen[2];           /* old owner: the generation handed over */
byte hset[2];           /* old owner: dirty - invalid, as a region mask */
byte tstep[2];          /* new owner, Taking: 1 = set received, 2 = owner persisted */
byte tset[2];           /* new owner, Taking: the HANDOVER's set, a region mask */
byte tsess[2];
byte tseq[2];
byte tgen[2];
#ifdef FIX_NEWEST
byte known[2];          /* the newest role/generation statement seen from the peer, as KEY() */
#endif
#ifdef FAILOVER
/* persisted (superblock) */
byte how[2];            /* how the current generation began: HOW_* */
byte sb[2];             /* split brain recorded: 0, SB_NEW, SB_OLD */
byte sbgen[2];          /* SB_OLD: the new owner's generation */
/* volatile */
bit  pl[2];             /* owner: holds a peer lease (from a PONG) */
bit  wl[2];             /* owner: holds a witness lease (from a grant) */
bit  pro[2];            /* replica: its last promise may still run */
bit  fstep[2];          /* FailingOver: 0 = waiting for the promise to end, 1 = CLAIM sent */
#ifdef FIX_FORCED_LEASE
/* replica: the owner of its generation took it by force (its statement at
 * rule 2, or rule 12), so a failover needs --force (refusal 3).  Kept over
 * a power cut: dccd forgets it then, but it refuses anyway until the sites
 * pair again (refusal 2: no report from the owner since it started), which
 * the model otherwise leaves out (LAG has it); likewise a replica by
 * resolve at the older site of a split brain (set) */
bit  fof[2];
#define FOF(s) fof[s]
#define FOF_SET(s, v) fof[s] = (v)
#else
#define FOF(s) 0
#define FOF_SET(s, v) skip
#endif
/* The kernel's lease flag (persisted) is set at a site with a witness
 * before the commit that makes it owner (at a replica already: the core's
 * lease_need), so a new owner serves under a lease from that commit on,
 * whatever dies after it; LEASED takes that as given.
 * MUTANT_FLAG_LATE: as dccd did before (the lease review's #6), the flag
 * is set only by the first lease the new owner's dccd tells its kernel of
 * (E_FLAG_SET, a step of its own: a dccd that died or stalls after the
 * persist never takes it), so a site that never owned serves without a
 * lease until then; one that owned before keeps the flag it had. */
#ifdef MUTANT_FLAG_LATE
bit  kflag[2];
#define FLAG_LATE(s) (role[s] == OWNER && !kflag[s])
#else
#define FLAG_LATE(s) 0
#endif
/* the witness: its record is persisted; its view of the lease (volatile,
 * held for a full period after a restart) ends only after every owner's
 * side of its grants ended, so "the lease has ended" is !wl[0] && !wl[1] */
byte wgen = 1;          /* the newest generation granted */
byte wown = 0;          /* the site that owns it */
/* A promise ends only after the lease the owner holds from it (the owner
 * counts from its send time); MUTANT_RECEIPT: from the PONG's receipt, so
 * nothing orders the two ends */
#ifdef MUTANT_RECEIPT
#define PROMISE_OVER(s) 1
#else
#define PROMISE_OVER(s) (!pl[PEER(s)])
#endif
#ifdef MUTANT_TWICE
byte wvgen = 1;         /* the record in memory, persisted after the answer */
byte wvown = 0;
#define WGEN wvgen
#define WOWN wvown
#else
#define WGEN wgen
#define WOWN wown
#endif
#ifdef CONTINUE
short wbag[2];          /* witness link messages: WENC() | epoch << 8, sorted, 0 = free */
#else
byte wbag[2];           /* witness link messages: WENC(), sorted, 0 = free */
#endif
/* the environment */
byte fos = MAXFO;
byte forces = MAXFORCE;
byte wcrashes = MAXWCRASH;
byte resolves = MAXRESOLVE;
/* ghosts: what happened, for the properties only (no site reads them) */
bit  forced;            /* a forced failover happened */
bit  fodone;            /* a failover happened (ASYNC: acknowledged writes may be lost) */
bit  late[2];           /* the site accepted a write after the peer owned a newer generation
                           (SYNC: acknowledged one the peer lacks, see (g)) */
byte pho, pdi, psb, psn; /* scratch: the rest of a peer's ATTACH statement */
#ifdef LAG
/* replica (volatile, dccd's last_owner_backlog): the owner's last report it
 * took: 0 none (since its start, its last pairing, or it last owned), 1
 * nothing at risk, 2 some regions not yet the same at both sites */
byte prog[2];
#ifdef FIX_PROG_PAIRING
/* replica (volatile, dccd's Ownership::report_floor): 0 takes no report; else 1 + the
 * watermark of the owner's statement it last paired on (FIX_OWN_ATTACH:
 * only the ATTACH_ACK answering its own ATTACH; else also an ATTACH's
 * seq), or 1 (any) after a handover made it replica of the peer's new
 * generation.  A report counts only if its sender's last seq when it sent
 * it is at least that watermark */
byte pfl[2];
#ifdef SINCE_UNPAIRED
bit  wpd[2];            /* ghost: the site was paired after the last step */
#endif
#ifdef COVER_FRESH
/* ghost: the site took a report on a floor of its own pairing (not the
 * first one's, nor a handover's) */
bit  rtk[2];
#endif
#endif
/* ghost, for (m): since the owner counted that report, a write of r was
 * acknowledged (the latest one is newer than the count); read only while
 * prog is 1 */
bit  pu[2 * NR];
#ifdef SINCE_PAIRED
/* ghost: the latest acknowledged write of r was made while its owner was
 * not paired (apart) */
bit  apw[NR];
#endif
#endif
#ifdef CONTINUE
/* the witness's record (persisted): the replica of WGEN is outdated (its
 * owner went on without it), and the epoch of the last OUTDATE granted */
bit  wout;
byte wep;
/* owner (volatile): it may acknowledge a write alone (an OUTDATE granted),
 * and the epoch of its fence at the witness (its OUTDATE's, or FIX_LEARN:
 * learnt from a RENEW), kept until its UPTODATE is answered, 0 = none */
bit  alone[2];
byte oep[2];
/* owner (volatile, dccd's presync): r was dirty (and valid here) when it
 * last stopped going alone, restarted, or became owner, and no push of r
 * read after that moment has been answered since; and the push of r in
 * flight was read before that moment (its seq is below presync_seq) */
bit  pre[2 * NR];
bit  pold[2 * NR];
byte outs = MAXOUT;
short wtmp;             /* scratch */
#endif
#ifdef SYNC
bit  pend[2 * NR];      /* owner: a write of r waits for the peer's durability (one at a time) */
bit  np[2 * NR];        /* this disk holds that pending write */
byte wseq[2 * NR];      /* owner: seq of the SYNC_WRITE of that write in flight, 0 = none */
bit  tsync[2 * NR];     /* replica: the last taken (taken[]) is a sync write, not a push */
#ifdef CONFIRM
/* kernel (volatile, dm-dcc's unconfirmed bits): a write of r ended without
 * the peer's confirmation (failed, or acknowledged alone) since a push
 * last cleared r; all set when the target is loaded */
bit  unc[2 * NR];
/* ghost, (o): some write was acknowledged without the peer's confirmation */
bit  aal;
#endif
#ifdef FIX_AHEAD
/* persisted (the superblock's AHEAD flag): this site may hold a write it
 * acknowledged that the peer lacks; set before such an acknowledgement,
 * cleared in a clear's commit that leaves no region unconfirmed */
bit  ahd[2];
#ifdef MUTANT_AHEAD_LATE
bit  ahv[2];            /* the mutant: the kernel's copy, persisted by a later step */
#endif
#endif
#endif
#endif

#ifdef CONFIRM
/* kernel: a write of r ends unconfirmed; a push's clear makes r confirmed.
 * The bit only matters while r is dirty: a clean region is the same at the
 * peer (dm-dcc clears it with the dirty bit, and sets it at load from the
 * dirty bits), so it is 0 where r is clean (gc) */
#define UNC(s, r) unc[IX(s, r)] = 1
#ifdef FIX_AHEAD
#define UNC_CLEAR(s, r) unc[IX(s, r)] = 0; AHEAD_CLEARED(s); \
	printf("MSC: site %d clears r%d (pushed), AHEAD %d\n", s, r, AHD(s))
#else
#define UNC_CLEAR(s, r) unc[IX(s, r)] = 0
#endif
#define UNC_GC(s, r) if :: !dirty[IX(s, r)] -> unc[IX(s, r)] = 0 :: else -> skip fi
#if NR > 1
#define UNC_ALL(s) unc[IX(s, 0)] = dirty[IX(s, 0)]; unc[IX(s, 1)] = dirty[IX(s, 1)]
#else
#define UNC_ALL(s) unc[IX(s, 0)] = dirty[IX(s, 0)]
#endif
#else
#define UNC(s, r) skip
#define UNC_CLEAR(s, r) skip
#define UNC_GC(s, r) skip
#define UNC_ALL(s) skip
#endif
#ifdef FIX_AHEAD
#if NR > 1
#define UNC_ANY(s) (unc[IX(s, 0)] || unc[IX(s, 1)])
#else
#define UNC_ANY(s) (unc[IX(s, 0)])
#endif
/* the flag as the kernel reads it (MUTANT_AHEAD_LATE: its copy in memory,
 * which a power cut loses until a later step persisted it) */
#ifdef MUTANT_AHEAD_LATE
#define AHD(s) ahv[s]
#else
#define AHD(s) ahd[s]
#endif
/* set, and persisted, before a held write completes without the peer's
 * confirmation and without failure (going alone) */
#define AHEAD_SET(s, c) AHD(s) = (AHD(s) || (c))
/* a clear's commit (a push's CLEAR_DIRTY, or CONFIRM): the flag goes with
 * it once no region of the site is unconfirmed; MUTANT_AHEAD_CLEAR: at
 * every clear (needs NR = 2: another region may still be unconfirmed).
 * (Written without an if, as AHEAD_SET: the event's d_step is near spin's
 * limit of jumps, see world().) */
#ifdef MUTANT_AHEAD_CLEAR
#define AHEAD_CLEARED(s) ahd[s] = 0
#elif defined(MUTANT_AHEAD_LATE)
#define AHEAD_CLEARED(s) ahd[s] = (ahd[s] && UNC_ANY(s)); ahv[s] = (ahv[s] && UNC_ANY(s))
#else
#define AHEAD_CLEARED(s) ahd[s] = (ahd[s] && UNC_ANY(s))
#endif
/* a SET_ROLE that drops every dirty bit (rules 2, 5 and 12, a handover's
 * CLEAN, a resolve) leaves no region unconfirmed: the flag goes in that
 * commit too (not in a power cut inside it, G_TORN: the superblock is
 * written after the bitmaps) */
#ifdef MUTANT_AHEAD_LATE
#define AHEAD_DROPPED(s) ; ahd[s] = 0; ahv[s] = 0
#else
#define AHEAD_DROPPED(s) ; ahd[s] = 0
#endif
#else
#define AHEAD_SET(s, c) skip
#define AHEAD_CLEARED(s) skip
#define AHEAD_DROPPED(s)
#endif

/* Data.  A copy of a region (on a disk, or in a PUSH or FETCH_REPLY in
 * flight) is only ever compared with the latest acknowledged write, so it is
 * one bit: "is the latest".  A write makes its own disk the latest and every
 * other copy stale.  This is exact for invariants (b) and (c), and it lets
 * the application write without bound. */

/* the environment */
bit  env = 1;           /* faults, writes and migrates still possible */
byte crashes = MAXCRASH;
byte losses = MAXLOSS;
byte dups = MAXDUP;
byte links = MAXLINK;
byte migs = MAXMIG;
#if MAXREREG > 0
byte reregs = MAXREREG;
#endif
/* (e): once the environment stopped, a site asks again (ATTACH) only when
 * nothing else can happen (spin's timeout: its heartbeat comes after every
 * delivery and step under way), and only TAIL times in all: a livelock of
 * ATTACH/ATTACH_ACK then ends in a quiescent state that the check sees */
#ifndef TAIL
#define TAIL 6
#endif
byte tail = TAIL;

/* scratch: always 0 between steps, so it adds no states */
int m;
int tmp;
byte bi;
byte mt, mto, msess, mdst, mseq, mgen, mreg, marg, mdata;
byte rule;
byte fl;
byte burn;
int outbox;             /* the message this step sends */
byte ev, es, er;        /* the event chosen, its site (or slot) and region */
byte si, bj;
int live;
byte rk;
byte mp[16];

/* -------------------------------------------------------- derived */
/* a site accepts I/O: owner, and not suspended for a handover */
#ifndef FAILOVER
#define ACCEPTS(s) (role[s] == OWNER && ho[s] != Demoting && ho[s] != Sending && ho[s] != Fenced)
#else
/* FAILOVER: ... and holds a lease (a forced owner needs none), and is not
 * the older site of a split brain */
#define LEASED(s) (pl[s] || wl[s] || how[s] == HOW_FORCED || FLAG_LATE(s))
#define ACCEPTS(s) (role[s] == OWNER && ho[s] != Demoting && ho[s] != Sending && ho[s] != Fenced && \
	LEASED(s) && sb[s] != SB_OLD)
#endif
/* CONTINUE: the owner no longer goes on alone (a new role or generation,
 * a restart): it holds writes again, and forgets its OUTDATE's epoch */
#ifdef CONTINUE
#define ALONE_END(s) alone[s] = 0; oep[s] = 0
#else
#define ALONE_END(s) skip
#endif
#ifdef CONTINUE
/* dccd's presync (Daemon::tell_shipper): read when the shipper stopped
 * completing writes alone (G_REJOIN), at a start, and whenever the site
 * becomes owner: the regions unconfirmed (FIX_AHEAD; else dirty) and valid
 * here then; a push of one in flight then was read before (it does not
 * count, presync_seq) */
/* PRE_LEFT: a region still in presync; -DFIX_PRESYNC (dccd's): only
 * while it is still dirty (a region cleared since was pushed by a push
 * armed after every write it holds, or cleared as confirmed).  dccd drops
 * a region from presync once clean and does not put it back if it is
 * written again; this counts it again then, which is stricter: those
 * later writes waited for the replica, or were never acknowledged. */
#ifdef FIX_PRESYNC
#define PRE_LEFT(s, r) (pre[IX(s, r)] && dirty[IX(s, r)])
#else
#define PRE_LEFT(s, r) (pre[IX(s, r)])
#endif
/* PRE_AT: a region presync takes; FIX_AHEAD: an unconfirmed one (a
 * region kept dirty whose writes the replica all confirmed holds no write
 * acknowledged alone: counted, it would stay in presync, never pushed,
 * until written again, and keep the fence up); before, any dirty one.
 * unc is cleared only with dirty: a subset, left the same way */
#ifdef FIX_AHEAD
#define PRE_AT(s, r) (unc[IX(s, r)] && valid[IX(s, r)])
#else
#define PRE_AT(s, r) (dirty[IX(s, r)] && valid[IX(s, r)])
#endif
#if NR > 1
#define PRESNAP(s) pre[IX(s, 0)] = PRE_AT(s, 0); pold[IX(s, 0)] = (pseq[IX(s, 0)] != 0); \
	pre[IX(s, 1)] = PRE_AT(s, 1); pold[IX(s, 1)] = (pseq[IX(s, 1)] != 0)
#define PRE_ANY(s) (PRE_LEFT(s, 0) || PRE_LEFT(s, 1))
#else
#define PRESNAP(s) pre[IX(s, 0)] = PRE_AT(s, 0); pold[IX(s, 0)] = (pseq[IX(s, 0)] != 0)
#define PRE_ANY(s) (PRE_LEFT(s, 0))
#endif
/* a push of r answered OK: r leaves presync if the push read it after the
 * snapshot (on_push_ack: seq >= presync_seq); MUTANT_STALE_PUSH: any push */
#ifdef MUTANT_STALE_PUSH
#define PUSHED(s, r) pre[IX(s, r)] = 0
#else
#define PUSHED(s, r) if :: !pold[IX(s, r)] -> pre[IX(s, r)] = 0 :: else -> skip fi
#endif
/* dccd notices that it is paired again (alone_tick ends going alone and
 * reads presync) before it pushes (replicate), in every round: no push is
 * read while it still goes alone.  And it clears the dirty bits of the
 * answers it collected (clear_pushed) in every round, while pairing again
 * after going alone takes rounds (OUTDATE, its answer, ATTACH): when it
 * reads presync no answer waits for its clear.  So no push is in flight
 * then (one sent before is forgotten with the link: pold is never set
 * there) and no region just pushed is read as dirty.  CROSSING_PUSH: both
 * may be (a push read before the snapshot and answered after it, or
 * answered before and cleared after: dccd's switch from async to sync,
 * which reads presync at any moment, see ctl_mode) */
#if NR > 1
#define NO_CLEAR_DUE(s) (!pclr[IX(s, 0)] && !pclr[IX(s, 1)])
#else
#define NO_CLEAR_DUE(s) (!pclr[IX(s, 0)])
#endif
#ifndef CROSSING_PUSH
#define PUSH_NOT_ALONE(s) && !alone[s]
#define REJOIN_CLEARED(s) && NO_CLEAR_DUE(s)
#else
#define PUSH_NOT_ALONE(s)
#define REJOIN_CLEARED(s)
#endif
#else
#define PUSH_NOT_ALONE(s)
#endif
/* the daemon is inside one uninterrupted handler (single-threaded) */
#define BUSY(s) (ho[s] == Demoting || ho[s] == Taking)

/* --------------------------------------------------------- invariants */
/* (b) clean and valid at the owner, valid at the peer => the peer's disk
 *     holds the latest acknowledged write */
#define INV_B(s, r) (!(role[s] == OWNER && valid[IX(s, r)] && !dirty[IX(s, r)] && \
	valid[IX(PEER(s), r)]) || cur[IX(PEER(s), r)])
/* (c) a read at a site that accepts I/O returns the latest acknowledged write */
#define INV_C(s, r) (!(ACCEPTS(s) && valid[IX(s, r)]) || cur[IX(s, r)])

#ifndef FAILOVER
inline asserts() {
#ifndef NO_REDUCE
	/* the model's seq field never overflows (so its bound cuts nothing) */
	assert(nseq[0] < MAXSEQ && nseq[1] < MAXSEQ);
#endif
	/* (a) at most one site accepts writes */
	assert(!(ACCEPTS(0) && ACCEPTS(1)));
	assert(INV_B(0, 0) && INV_B(1, 0));
	assert(INV_C(0, 0) && INV_C(1, 0));
#if NR > 1
	assert(INV_B(0, 1) && INV_B(1, 1));
	assert(INV_C(0, 1) && INV_C(1, 1));
#endif
}
#else
/* (b) and (c) hold unless a forced failover happened; in ASYNC only until
 * the first failover (it may lose the acknowledged writes not yet pushed) */
#ifdef SYNC
#define DATA_KEPT (!forced)
/* (i) SYNC: the latest acknowledged write of r is on a disk where r is valid */
#define INV_I(r) ((valid[IX(0, r)] && cur[IX(0, r)]) || (valid[IX(1, r)] && cur[IX(1, r)]))
#else
#define DATA_KEPT (!forced && !fodone)
#endif
inline asserts() {
#ifndef NO_REDUCE
	assert(nseq[0] < MAXSEQ && nseq[1] < MAXSEQ);
#endif
	/* (a) at most one site accepts writes, unless a forced failover happened */
	assert(forced || !(ACCEPTS(0) && ACCEPTS(1)));
	/* (f) no site writes after the peer owns a newer generation, unless forced */
	assert(forced || !(late[0] || late[1]));
	if
	:: DATA_KEPT ->
		assert(INV_B(0, 0) && INV_B(1, 0));
		assert(INV_C(0, 0) && INV_C(1, 0));
#if NR > 1
		assert(INV_B(0, 1) && INV_B(1, 1));
		assert(INV_C(0, 1) && INV_C(1, 1));
#endif
#ifdef SYNC
		assert(INV_I(0));
#if NR > 1
		assert(INV_I(1));
#endif
#endif
		skip
	:: else -> skip
	fi
}
#endif

/* ---------------------------------------------------------- link ops */
inline bag_put(v) {
	if
	:: bag[K - 1] == 0 ->
		bi = K - 1;
		bag[bi] = v;
		do
		:: bi > 0 && bag[bi - 1] < bag[bi] ->
			tmp = bag[bi - 1]; bag[bi - 1] = bag[bi]; bag[bi] = tmp; bi--
		:: else -> break
		od
	:: else -> skip     /* the link is full: the message is lost */
	fi;
	bi = 0; tmp = 0
}

inline bag_del(i) {
	bi = i;
	do
	:: bi < K - 1 -> bag[bi] = bag[bi + 1]; bi++
	:: else -> break
	od;
	bag[K - 1] = 0;
	bi = 0
}

#ifdef FAILOVER
/* The witness links: a bag of two bytes, type(3) site(1) gen(3), sorted,
 * 0 = free.  Both sites' links to the witness share it; a full bag drops. */
#define WENC(t, s, g) ((t) | ((s) << 3) | ((g) << 4))
#define WTYPE(w) ((w) & 7)
#define WSITE(w) (((w) >> 3) & 1)
#ifdef CONTINUE
#define WGENOF(w) (((w) >> 4) & 15)
#define WEPOF(w) ((w) >> 8)
#else
#define WGENOF(w) ((w) >> 4)
#endif
#define WIS(w, t, s) (WTYPE(w) == (t) && WSITE(w) == (s))
#define WINBAG(t, s) (WIS(wbag[0], t, s) || WIS(wbag[1], t, s))
inline wbag_put(v) {
	if
	:: wbag[1] == 0 -> wbag[1] = v
	:: else -> skip     /* full: the message is lost */
	fi
}
inline wbag_del(i) {
	if :: i == 0 -> wbag[0] = wbag[1] :: else -> skip fi;
	wbag[1] = 0
}
inline wbag_sort() {
	if
#ifdef CONTINUE
	:: wbag[0] < wbag[1] -> wtmp = wbag[0]; wbag[0] = wbag[1]; wbag[1] = wtmp; wtmp = 0
#else
	:: wbag[0] < wbag[1] -> bi = wbag[0]; wbag[0] = wbag[1]; wbag[1] = bi; bi = 0
#endif
	:: else -> skip
	fi
}
#endif

/* A step sends at most one message: it is put in the outbox, and check()
 * puts it on the link.  A request from s carries s's incarnation and (FIX_DST) the peer's as s knows it */
#define SEND_REQ(s, t, sq, g, rg, a, d) outbox = ENC(t, PEER(s), inc[s], peerinc[s], sq, g, rg, a, d)
/* a reply to a request echoes the requester's incarnation */
#define SEND_REP(s, t, se, sq, g, rg, a, d) outbox = ENC(t, PEER(s), se, 0, sq, g, rg, a, d)

#ifdef FIX_DST
#define REQ_OK(d) (peerinc[d] != 0 && msess == peerinc[d] && mdst == inc[d])
#else
#define REQ_OK(d) (peerinc[d] != 0 && msess == peerinc[d])
#endif
#define REP_OK(d) (msess == inc[d])
/* A site's (role, generation) only grows in this order: generation, then
 * yielding before owner or replica. */
#define KEY(r, g) ((g) * 2 + ((r) != YIELDING))
#ifdef FIX_NEWEST
#define FRESH(d, r, g) (KEY(r, g) >= known[d])
#define SAW(d, r, g) if :: KEY(r, g) > known[d] -> known[d] = KEY(r, g) :: else -> skip fi
#else
#define FRESH(d, r, g) 1
#define SAW(d, r, g) skip
#endif

/* ------------------------------------------------- seq renumbering
 * Seqs are only ever compared with each other (equal, older, newer) within
 * one incarnation of their sender, and a new one is above all earlier ones.
 * After every step each site's live seqs (those of its current incarnation
 * that are still held anywhere: its own records, the peer's records about
 * it, the messages in flight) are renumbered 1..n in order and its counter
 * set to n.  The renumbered state behaves exactly like the original one, and
 * retries no longer make new states.  Requests have odd types, replies even. */
#define LIVE(v) if :: (v) != 0 -> live = live | (1 << (v)) :: else -> skip fi
#define MAPV(x) if :: (x) != 0 -> x = mp[x] :: else -> skip fi
#define MINE(mm, s) ((mm) != 0 && FLD(mm, B_SESS, 2) == inc[s] && \
	((MTO(mm) == PEER(s) && (MTYPE(mm) & 1)) || (MTO(mm) == s && !(MTYPE(mm) & 1))))
#define SETF(mm, b, w, v) mm = ((mm) & ~(((1 << (w)) - 1) << (b))) | ((v) << (b))

#ifdef FIX_PROG_PAIRING
/* an ATTACH_ACK s sent in this incarnation: its watermark is s's seq */
#define MY_WM(mm, s) (MTYPE(mm) == ATTACH_ACK && MTO(mm) == PEER(s) && FLD(mm, B_DST, 2) == inc[s])
#endif
inline live_msg(i, s) {
	if
	:: MINE(bag[i], s) ->
		LIVE(FLD(bag[i], B_SEQ, 4));
		if :: MTYPE(bag[i]) == PUSH -> LIVE(FLD(bag[i], B_ARG, 4)) :: else -> skip fi
#ifdef FIX_PROG_PAIRING
	:: bag[i] != 0 && MY_WM(bag[i], s) -> LIVE(WM(bag[i]))
#endif
	:: else -> skip
	fi
}

inline map_msg(i, s) {
	if
	:: MINE(bag[i], s) ->
		m = bag[i];
		SETF(m, B_SEQ, 4, mp[FLD(m, B_SEQ, 4)]);
		if :: MTYPE(m) == PUSH -> SETF(m, B_ARG, 4, mp[FLD(m, B_ARG, 4)]) :: else -> skip fi;
		bag[i] = m; m = 0
#ifdef FIX_PROG_PAIRING
	:: bag[i] != 0 && MY_WM(bag[i], s) ->
		m = bag[i];
		SETF(m, B_WM, 4, mp[WM(m)]);
		bag[i] = m; m = 0
#endif
	:: else -> skip
	fi
}

inline renum(s) {
	live = 0;
	LIVE(pseq[IX(s, 0)]); LIVE(fseq[IX(s, 0)]);
#if NR > 1
	LIVE(pseq[IX(s, 1)]); LIVE(fseq[IX(s, 1)]);
#endif
#ifdef MUTANT_C1
	LIVE(pseq2[IX(s, 0)]);
#if NR > 1
	LIVE(pseq2[IX(s, 1)]);
#endif
#endif
	LIVE(aseq[s]); LIVE(hseq[s]);
#ifdef SYNC
	LIVE(wseq[IX(s, 0)]);
#if NR > 1
	LIVE(wseq[IX(s, 1)]);
#endif
#endif
	if
	:: peerinc[PEER(s)] == inc[s] ->
		LIVE(taken[IX(PEER(s), 0)]);
#if NR > 1
		LIVE(taken[IX(PEER(s), 1)]);
#endif
		LIVE(floor_[PEER(s)])
#ifdef FIX_PROG_PAIRING
		; if :: pfl[PEER(s)] > 1 -> LIVE(pfl[PEER(s)] - 1) :: else -> skip fi
#endif
	:: else -> skip
	fi;
	if :: tstep[PEER(s)] != 0 && tsess[PEER(s)] == inc[s] -> LIVE(tseq[PEER(s)]) :: else -> skip fi;
	bj = 0;
	do
	:: bj < K -> live_msg(bj, s); bj++
	:: else -> break
	od;
	bj = 0;
	rk = 0; bi = 1;
	do
	:: bi < 16 ->
		if :: live & (1 << bi) -> rk++; mp[bi] = rk :: else -> skip fi;
		bi++
	:: else -> break
	od;
	MAPV(pseq[IX(s, 0)]); MAPV(fseq[IX(s, 0)]);
#if NR > 1
	MAPV(pseq[IX(s, 1)]); MAPV(fseq[IX(s, 1)]);
#endif
#ifdef MUTANT_C1
	MAPV(pseq2[IX(s, 0)]);
#if NR > 1
	MAPV(pseq2[IX(s, 1)]);
#endif
#endif
	MAPV(aseq[s]); MAPV(hseq[s]);
#ifdef SYNC
	MAPV(wseq[IX(s, 0)]);
#if NR > 1
	MAPV(wseq[IX(s, 1)]);
#endif
#endif
	if
	:: peerinc[PEER(s)] == inc[s] ->
		MAPV(taken[IX(PEER(s), 0)]);
#if NR > 1
		MAPV(taken[IX(PEER(s), 1)]);
#endif
		MAPV(floor_[PEER(s)])
#ifdef FIX_PROG_PAIRING
		; if :: pfl[PEER(s)] > 1 -> pfl[PEER(s)] = 1 + mp[pfl[PEER(s)] - 1] :: else -> skip fi
#endif
	:: else -> skip
	fi;
	if :: tstep[PEER(s)] != 0 && tsess[PEER(s)] == inc[s] -> MAPV(tseq[PEER(s)]) :: else -> skip fi;
	bj = 0;
	do
	:: bj < K -> map_msg(bj, s); bj++
	:: else -> break
	od;
	bj = 0;
	nseq[s] = rk;
	bi = 0;
	do
	:: bi < 16 -> mp[bi] = 0; bi++
	:: else -> break
	od;
	bi = 0; rk = 0; live = 0
}

inline bag_sort() {
	bi = 0;
	do
	:: bi < K - 1 ->
		if
		:: bag[bi] < bag[bi + 1] -> tmp = bag[bi]; bag[bi] = bag[bi + 1]; bag[bi + 1] = tmp; bi = 0
		:: else -> bi++
		fi
	:: else -> break
	od;
	bi = 0; tmp = 0
}

/* Messages that can never be taken again are removed (they would be
 * dropped on arrival, whatever happens next): a reply to an incarnation
 * that is gone or to a request no longer outstanding (outstanding seqs are
 * always new ones, above every live seq), a HELLO_ACK that no longer
 * teaches anything, and (FIX_DST) a request addressed to an incarnation of
 * its receiver that is gone.  The only other difference is that they no
 * longer fill the link (K): that only drops sends less often. */
#define DEAD_REPLY(mm, s) (FLD(mm, B_SESS, 2) != inc[s] || \
	MTYPE(mm) == HELLO_ACK && peerinc[s] != 0 && FLD(mm, B_ARG, 4) <= peerinc[s] || \
	MTYPE(mm) == ATTACH_ACK && FLD(mm, B_SEQ, 4) != aseq[s] || \
	MTYPE(mm) == PUSH_ACK && FLD(mm, B_SEQ, 4) != pseq[IX(s, FLD(mm, B_REG, 1))] PSEQ2_OTHER(mm, s) || \
	MTYPE(mm) == FETCH_REPLY && FLD(mm, B_SEQ, 4) != fseq[IX(s, FLD(mm, B_REG, 1))] || \
	MTYPE(mm) == HANDOVER_ACK && (ho[s] != Sending || FLD(mm, B_SEQ, 4) != hseq[s]) DEAD_SYNC_ACK(mm, s))
#ifdef SYNC
/* an answer to a sync write no longer outstanding (answered, sent again, or
 * its write no longer pends) */
#define DEAD_SYNC_ACK(mm, s) || MTYPE(mm) == SYNC_ACK && FLD(mm, B_SEQ, 4) != wseq[IX(s, FLD(mm, B_REG, 1))]
#else
#define DEAD_SYNC_ACK(mm, s)
#endif
#ifdef MUTANT_C1
#define PSEQ2_OTHER(mm, s) && FLD(mm, B_SEQ, 4) != pseq2[IX(s, FLD(mm, B_REG, 1))]
#else
#define PSEQ2_OTHER(mm, s)
#endif
#ifdef SYNC
/* a sync write whose answer nobody waits for (its write no longer pends,
 * or was sent again) and that its receiver will never apply: it is no
 * longer (and never again) a replica of that generation, or took a push or
 * sync write of the region as new, or its floor is above it */
#define DEAD_SW(mm) ((FLD(mm, B_SESS, 2) != inc[1 - MTO(mm)] || \
	FLD(mm, B_SEQ, 4) != wseq[IX(1 - MTO(mm), FLD(mm, B_REG, 1))]) && \
	(KEY(role[MTO(mm)], gen[MTO(mm)]) > KEY(REPLICA, FLD(mm, B_GEN, 3)) || \
	 KEEPS FLD(mm, B_SESS, 2) == peerinc[MTO(mm)] && (FLD(mm, B_SEQ, 4) <= taken[IX(MTO(mm), FLD(mm, B_REG, 1))] || \
	                                          FLD(mm, B_SEQ, 4) < floor_[MTO(mm)])))
/* without FIX_KEEP a volume removed and added again forgets its push order
 * while its incarnation lives: then "never" holds only once that can no
 * longer happen */
#if MAXREREG > 0 && !defined(FIX_KEEP)
#define KEEPS (reregs == 0 || !env) &&
#else
#define KEEPS
#endif
#endif
#ifdef FIX_DST
#define DEAD_REQ(mm, d) (MTYPE(mm) != HELLO && FLD(mm, B_DST, 2) != inc[d])
#else
#define DEAD_REQ(mm, d) 0
#endif
/* a FETCH whose answer nobody waits for (it changes nothing where it lands) */
#define DEAD_FETCH(mm, s) (MTYPE(mm) == FETCH && (FLD(mm, B_SESS, 2) != inc[s] || \
	FLD(mm, B_SEQ, 4) != fseq[IX(s, FLD(mm, B_REG, 1))]))
#ifdef LAG
/* a PROGRESS that will never be taken (its receiver owns its generation,
 * or moved past it: a site's generation only grows, and an owner of G
 * never becomes a replica of G), or whose report nobody will read (no
 * failover can come) */
#define DEAD_PROG(mm) || MTYPE(mm) == PROGRESS && (fos == 0 || gen[MTO(mm)] > FLD(mm, B_GEN, 3) || \
	gen[MTO(mm)] == FLD(mm, B_GEN, 3) && role[MTO(mm)] == OWNER)
#else
#define DEAD_PROG(mm)
#endif
#define DEAD(mm) ((MTYPE(mm) & 1) && (DEAD_REQ(mm, MTO(mm)) || DEAD_FETCH(mm, 1 - MTO(mm)) DEAD_PROG(mm)) || \
	!(MTYPE(mm) & 1) && DEAD_REPLY(mm, MTO(mm)))
#ifdef CONTINUE
/* the fence can no longer matter: a force happened ((k) and (j) are off)
 * and no failover can come (no CLAIM will read it) */
#define FENCE_DEAD (forced && fos == 0 && ho[0] != FailingOver && ho[1] != FailingOver && \
	!WINBAG(W_CLAIM, 0) && !WINBAG(W_CLAIM, 1))
#endif
inline gc() {
	bi = 0;
	do
	:: bi < K ->
		if :: bag[bi] != 0 && DEAD(bag[bi]) -> bag[bi] = 0 :: else -> skip fi;
		bi++
	:: else -> break
	od;
	bi = 0;
#ifdef SYNC
	bi = 0;
	do
	:: bi < K ->
		if :: MTYPE(bag[bi]) == SYNC_WRITE && DEAD_SW(bag[bi]) -> bag[bi] = 0 :: else -> skip fi;
		bi++
	:: else -> break
	od;
	bi = 0;
	floor_args();
#endif
	si = 0;
	do
	:: si < 2 -> forget_unused(si); si++
	:: else -> break
	od;
	si = 0
#ifdef CONFIRM
	/* (o)'s ghost, and (FIX_AHEAD) the flag, matter only where a
	 * generation is forced (rule 14; the evidence is read only there) */
	; if
	:: forces == 0 && !forced ->
		aal = 0
#ifdef FIX_AHEAD
		; ahd[0] = 0; ahd[1] = 0
#ifdef MUTANT_AHEAD_LATE
		; ahv[0] = 0; ahv[1] = 0
#endif
#endif
	:: else -> skip
	fi
#endif
#ifdef CONTINUE
	/* the witness's fence and every UPTODATE in flight, once FENCE_DEAD */
	; if
	:: FENCE_DEAD ->
		wout = 0; wep = 0;
		if :: WTYPE(wbag[0]) == W_UPTODATE -> wbag[0] = 0 :: else -> skip fi;
		if :: WTYPE(wbag[1]) == W_UPTODATE -> wbag[1] = 0 :: else -> skip fi
	:: else -> skip
	fi
#endif
}

/* Memory that can no longer change what happens is cleared:
 * - the replica's last seq taken for r, and its floor, are only ever
 *   compared with pushes already in flight (any later push has a new seq,
 *   above both, and a floor at least the floor it remembers);
 * - an armed bit only matters while a push of the region is in flight or
 *   its answer's clear is pending (a clear needs its answer; a new push
 *   arms first);
 * - a pending clear only at an owner (dccd drops them at a replica);
 * - the handover's set and generation only matter while handing over. */
#define PUSH_IN(i, s, r) (IS(bag[i], PUSH, s) && FLD(bag[i], B_SESS, 2) == peerinc[s] && FLD(bag[i], B_REG, 1) == (r))
#define PUSHES_IN(s, r) (PUSH_IN(0, s, r) || PUSH_IN(1, s, r) || PUSH_IN(2, s, r) OR_SLOT3(PUSH_IN(3, s, r)))
#ifdef SYNC
/* SYNC: sync writes are compared with them too; and since a later message
 * has a seq above every live one, and the replica's last seq taken for r
 * is 0 or at least its floor, the last seq taken for r matters only while
 * a push or sync write of r at or below it is in flight, the floor only
 * while a push or sync write below it is; of those, only one the site may
 * still take (it is, or may become, a replica of its generation: a site's
 * role and generation only grow, see KEY) */
#define ORD_IN(i, s) ((IS(bag[i], PUSH, s) || IS(bag[i], SYNC_WRITE, s)) && FLD(bag[i], B_SESS, 2) == peerinc[s] && \
	KEY(role[s], gen[s]) <= KEY(REPLICA, FLD(bag[i], B_GEN, 3)))
#define LE_IN(i, s, r) (ORD_IN(i, s) && FLD(bag[i], B_REG, 1) == (r) && FLD(bag[i], B_SEQ, 4) <= taken[IX(s, r)])
#define LT_IN(i, s) (ORD_IN(i, s) && FLD(bag[i], B_SEQ, 4) < floor_[s])
#define TAKEN_USED(s, r) (LE_IN(0, s, r) || LE_IN(1, s, r) || LE_IN(2, s, r) OR_SLOT3(LE_IN(3, s, r)))
#define FLOOR_USED(s) (LT_IN(0, s) || LT_IN(1, s) || LT_IN(2, s) OR_SLOT3(LT_IN(3, s)))
#define FORGET_TAKEN(s, r) taken[IX(s, r)] = 0; tsync[IX(s, r)] = 0
/* likewise the floor a push in flight carries matters only while a push or
 * sync write below it is in flight: else it is cleared (it raises nothing
 * that is ever compared) */
#define BELOW_IN(i, s, v) (ORD_IN(i, s) && FLD(bag[i], B_SEQ, 4) < (v))
#define FLOOR_ARG(i) if \
	:: MTYPE(bag[i]) == PUSH && FLD(bag[i], B_SESS, 2) == peerinc[MTO(bag[i])] && \
	   !(BELOW_IN(0, MTO(bag[i]), FLD(bag[i], B_ARG, 4)) || BELOW_IN(1, MTO(bag[i]), FLD(bag[i], B_ARG, 4)) || \
	     BELOW_IN(2, MTO(bag[i]), FLD(bag[i], B_ARG, 4)) OR_SLOT3(BELOW_IN(3, MTO(bag[i]), FLD(bag[i], B_ARG, 4)))) -> \
		SETF(bag[i], B_ARG, 4, 0) \
	:: else -> skip \
	fi
inline floor_args() {
	FLOOR_ARG(0); FLOOR_ARG(1); FLOOR_ARG(2); SLOT3(FLOOR_ARG(3))
}
#else
#define FORGET_TAKEN(s, r) taken[IX(s, r)] = 0
#endif
#ifdef MUTANT_C1
#define NO_PUSH(s, r) (pseq[IX(s, r)] == 0 && pseq2[IX(s, r)] == 0 && !pclr[IX(s, r)])
#else
#define NO_PUSH(s, r) (pseq[IX(s, r)] == 0 && !pclr[IX(s, r)])
#endif
inline forget_unused(s) {
	if :: role[s] != OWNER -> pclr[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: role[s] != OWNER -> pclr[IX(s, 1)] = 0 :: else -> skip fi;
#endif
#ifdef SYNC
	if :: !TAKEN_USED(s, 0) -> FORGET_TAKEN(s, 0) :: else -> skip fi;
	if :: NO_PUSH(s, 0) -> armed[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: !TAKEN_USED(s, 1) -> FORGET_TAKEN(s, 1) :: else -> skip fi;
	if :: NO_PUSH(s, 1) -> armed[IX(s, 1)] = 0 :: else -> skip fi;
#endif
	if :: !FLOOR_USED(s) -> floor_[s] = 0 :: else -> skip fi;
#else
	if :: !PUSHES_IN(s, 0) -> taken[IX(s, 0)] = 0 :: else -> skip fi;
	if :: NO_PUSH(s, 0) -> armed[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: !PUSHES_IN(s, 1) -> taken[IX(s, 1)] = 0 :: else -> skip fi;
	if :: NO_PUSH(s, 1) -> armed[IX(s, 1)] = 0 :: else -> skip fi;
	if :: !PUSHES_IN(s, 0) && !PUSHES_IN(s, 1) -> floor_[s] = 0 :: else -> skip fi;
#else
	if :: !PUSHES_IN(s, 0) -> floor_[s] = 0 :: else -> skip fi;
#endif
#endif
	if :: ho[s] != Demoting && ho[s] != Sending -> hgen[s] = 0; hset[s] = 0; hseq[s] = 0 :: else -> skip fi;
	/* the data of a region the site lacks is never read */
	if :: !valid[IX(s, 0)] -> cur[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: !valid[IX(s, 1)] -> cur[IX(s, 1)] = 0 :: else -> skip fi;
#endif
#ifdef FIX_NEWEST
	/* the newest statement seen only matters for statements in flight: the
	 * peer's role and generation only grow, so any later statement is at
	 * least as new as everything it said before */
	if :: !INBAG(ATTACH, s) && !INBAG(ATTACH_ACK, s) -> known[s] = 0 :: else -> skip fi;
#endif
#ifdef FAILOVER
	/* how a generation began is read only while the site owns it, or
	 * (rules 15 and 16) at a replica by resolve */
	if :: role[s] != OWNER && how[s] != HOW_RESOLVED -> how[s] = HOW_HANDOVER :: else -> skip fi;
	if :: ho[s] != FailingOver -> fstep[s] = 0 :: else -> skip fi;
#ifdef FIX_FORCED_LEASE
	/* read only by a failover at a replica */
	if :: role[s] != REPLICA || fos == 0 -> fof[s] = 0 :: else -> skip fi;
#endif
#ifdef LAG
	/* an owner forgets the report as it becomes one (Daemon::role_changed)
	 * and takes none while it is one; a report is read only by a failover,
	 * (m)'s ghost only with a report of nothing at risk */
	if :: role[s] == OWNER || fos == 0 -> prog[s] = 0 :: else -> skip fi;
#ifdef FIX_PROG_PAIRING
	if :: role[s] == OWNER || fos == 0 -> pfl[s] = 0 :: else -> skip fi;
#endif
	if :: prog[s] != 1 -> pu[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: prog[s] != 1 -> pu[IX(s, 1)] = 0 :: else -> skip fi;
#endif
#ifdef SINCE_PAIRED
	if :: fos == 0 -> apw[0] = 0 :: else -> skip fi;
#if NR > 1
	if :: fos == 0 -> apw[1] = 0 :: else -> skip fi;
#endif
#endif
#endif
	/* a promise ends as soon as it may: when the owner holds no lease
	 * from it (exact: only a CLAIM reads it, and that is a later step) */
	if :: PROMISE_OVER(s) -> pro[s] = 0 :: else -> skip fi;
#ifdef CONTINUE
	/* the owner's side of the fence (its epoch, and presync, which only
	 * decides when it sends UPTODATE) once FENCE_DEAD */
	if
	:: FENCE_DEAD ->
		oep[s] = 0; pre[IX(s, 0)] = 0; pold[IX(s, 0)] = 0
#if NR > 1
		; pre[IX(s, 1)] = 0; pold[IX(s, 1)] = 0
#endif
	:: else -> skip
	fi;
	/* presync is an owner's; a push's mark only while it is in flight */
	if :: role[s] != OWNER -> pre[IX(s, 0)] = 0 :: else -> skip fi;
	if :: pseq[IX(s, 0)] == 0 -> pold[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: role[s] != OWNER -> pre[IX(s, 1)] = 0 :: else -> skip fi;
	if :: pseq[IX(s, 1)] == 0 -> pold[IX(s, 1)] = 0 :: else -> skip fi;
#endif
#endif
#ifdef SYNC
	/* a write pends only at an owner; its sync write is outstanding only
	 * while it pends (an answer after that is ignored) */
	if :: role[s] != OWNER && pend[IX(s, 0)] -> UNC(s, 0); pend[IX(s, 0)] = 0 :: else -> skip fi;
	if :: !pend[IX(s, 0)] -> wseq[IX(s, 0)] = 0 :: else -> skip fi;
	if :: !valid[IX(s, 0)] -> np[IX(s, 0)] = 0 :: else -> skip fi;
	UNC_GC(s, 0);
#if NR > 1
	if :: role[s] != OWNER && pend[IX(s, 1)] -> UNC(s, 1); pend[IX(s, 1)] = 0 :: else -> skip fi;
	if :: !pend[IX(s, 1)] -> wseq[IX(s, 1)] = 0 :: else -> skip fi;
	if :: !valid[IX(s, 1)] -> np[IX(s, 1)] = 0 :: else -> skip fi;
	UNC_GC(s, 1);
#endif
#endif
#endif
	skip
}
#ifdef SYNC
/* no write of r pends: which copies hold the last one that did is never read
 * again (a new write sets np afresh) */
#define NPCLR(i, r) if :: (MTYPE(bag[i]) == PUSH || MTYPE(bag[i]) == FETCH_REPLY || MTYPE(bag[i]) == SYNC_WRITE) && \
	FLD(bag[i], B_REG, 1) == (r) -> SETF(bag[i], B_EXT, 1, 0) :: else -> skip fi
inline np_clear(r) {
	np[IX(0, r)] = 0; np[IX(1, r)] = 0;
	NPCLR(0, r); NPCLR(1, r); NPCLR(2, r); SLOT3(NPCLR(3, r))
}
inline np_gc() {
	if :: !pend[IX(0, 0)] && !pend[IX(1, 0)] -> np_clear(0) :: else -> skip fi;
#if NR > 1
	if :: !pend[IX(0, 1)] && !pend[IX(1, 1)] -> np_clear(1) :: else -> skip fi;
#endif
	skip
}
#endif

/* the end of every step: canonical form, then the invariants */
#ifdef SINCE_UNPAIRED
#define OLDP(i, s) if :: IS(bag[i], PROGRESS, s) -> SETF(bag[i], B_OLD, 1, 1) :: else -> skip fi
inline mark_old(s) {
	if
	:: wpd[s] && ho[s] != Paired -> OLDP(0, s); OLDP(1, s); OLDP(2, s); SLOT3(OLDP(3, s))
	:: else -> skip
	fi;
	wpd[s] = (ho[s] == Paired)
}
#endif
inline check() {
	if :: outbox != 0 -> bag_put(outbox); outbox = 0 :: else -> skip fi;
#ifdef SINCE_UNPAIRED
	mark_old(0); mark_old(1);
#endif
#ifndef NO_REDUCE
	gc();
	si = 0;
	do
	:: si < 2 -> renum(si); si++
	:: else -> break
	od;
	si = 0;
#ifdef SYNC
	np_gc();
#endif
	bag_sort();
#endif
#ifdef FAILOVER
	wbag_sort();
#endif
	asserts()
}

/* ---------------------------------------------------------- site ops */
/* kernel: DCC_CMD_ARM just before the daemon reads the region */
inline ARM(s, r) {
	armed[IX(s, r)] = 1
}

/* kernel: DCC_CMD_CLEAR_DIRTY clears only if the region is still armed (no
 * write ended in it since ARM); the epoch drain and the data flush before
 * the commit make this one atomic step (review: sound for one arm); the
 * AHEAD flag goes in that commit once nothing is unconfirmed (FIX_AHEAD) */
inline CLEAR_DIRTY(s, r) {
	if
	:: armed[IX(s, r)] -> armed[IX(s, r)] = 0; dirty[IX(s, r)] = 0; UNC_CLEAR(s, r)
	:: else -> skip
	fi
}

inline drop_dirty(s) {
	dirty[IX(s, 0)] = 0;
#if NR > 1
	dirty[IX(s, 1)] = 0;
#endif
}

/* the link was lost (or the peer restarted): what was in flight is gone */
inline forget_link(s) {
	pseq[IX(s, 0)] = 0; fseq[IX(s, 0)] = 0;
#ifdef MUTANT_C1
	pseq2[IX(s, 0)] = 0;
#endif
#if NR > 1
	pseq[IX(s, 1)] = 0; fseq[IX(s, 1)] = 0;
#ifdef MUTANT_C1
	pseq2[IX(s, 1)] = 0;
#endif
#endif
	aseq[s] = 0;
#ifdef SYNC
	/* the shipper sends every unanswered sync write again, with a new seq */
	wseq[IX(s, 0)] = 0;
#if NR > 1
	wseq[IX(s, 1)] = 0;
#endif
#endif
	if
	:: ho[s] == Sending -> ho[s] = Fenced; hseq[s] = 0
	:: ho[s] == Paired -> ho[s] = Unpaired
	:: else -> skip
	fi
}

/* a HELLO with a new incarnation: forget everything in flight with the peer */
inline forget_peer(s) {
	forget_link(s);
	FORGET_TAKEN(s, 0);
#if NR > 1
	FORGET_TAKEN(s, 1);
#endif
	floor_[s] = 0;
#ifdef FIX_PROG_PAIRING
	pfl[s] = 0;             /* dccd: the floor names the old incarnation */
#endif
}

/* the floor of a push about to be sent with seq sq: its oldest unanswered push
 * (SYNC: or sync write) */
inline compute_floor(s, sq) {
	fl = sq;
	if :: pseq[IX(s, 0)] != 0 && pseq[IX(s, 0)] < fl -> fl = pseq[IX(s, 0)] :: else -> skip fi;
#if NR > 1
	if :: pseq[IX(s, 1)] != 0 && pseq[IX(s, 1)] < fl -> fl = pseq[IX(s, 1)] :: else -> skip fi;
#endif
#ifdef MUTANT_C1
	if :: pseq2[IX(s, 0)] != 0 && pseq2[IX(s, 0)] < fl -> fl = pseq2[IX(s, 0)] :: else -> skip fi;
#if NR > 1
	if :: pseq2[IX(s, 1)] != 0 && pseq2[IX(s, 1)] < fl -> fl = pseq2[IX(s, 1)] :: else -> skip fi;
#endif
#endif
#ifdef SYNC
	if :: wseq[IX(s, 0)] != 0 && wseq[IX(s, 0)] < fl -> fl = wseq[IX(s, 0)] :: else -> skip fi;
#if NR > 1
	if :: wseq[IX(s, 1)] != 0 && wseq[IX(s, 1)] < fl -> fl = wseq[IX(s, 1)] :: else -> skip fi;
#endif
#endif
	skip
}

#ifdef FAILOVER
#if NR > 1
#define DIRTY_ANY(s) (dirty[IX(s, 0)] || dirty[IX(s, 1)])
#else
#define DIRTY_ANY(s) (dirty[IX(s, 0)])
#endif
/* the evidence a site states in ATTACH and ATTACH_ACK ("it holds writes
 * the peer may lack") and reads for itself at rules 12 and 14: any dirty
 * region; FIX_AHEAD (SYNC): the AHEAD flag and an unconfirmed region (a
 * dirty region whose writes the peer all confirmed holds none) */
#ifdef FIX_AHEAD
#define EVIDENCE(s) (AHD(s) && UNC_ANY(s))
#else
#define EVIDENCE(s) DIRTY_ANY(s)
#endif
/* An old owner (owner, or yielding a handover never taken) meets an owner
 * of a newer state that began by failover; here = the old one (OLD) or the
 * new one (NEW); the peer's statement is (pr, pg) with how pho, dirty pdi,
 * split psb. */
#define FO_OLD(s, pr, pg) ((role[s] == OWNER || role[s] == YIELDING) && pr == OWNER && \
	pho != HOW_HANDOVER && KEY(role[s], gen[s]) < KEY(pr, pg))
#define FO_NEW(s, pr, pg) (role[s] == OWNER && how[s] != HOW_HANDOVER && \
	(pr == OWNER || pr == YIELDING) && KEY(pr, pg) < KEY(role[s], gen[s]))
/* A split brain: the newer generation was forced and the old site holds
 * writes the new one never took (EVIDENCE: its dirty bits, acknowledged
 * writes in ASYNC and every write it accepted after the force; FIX_AHEAD,
 * in SYNC: what it acknowledged alone), or either site recorded one
 * already. */
#ifdef MUTANT_NOSPLIT
/* the old site ignores its own dirty bits: it becomes replica quietly */
#define SPLIT_OLD(s) (sb[s] != 0 || psb)
#else
#define SPLIT_OLD(s) (sb[s] != 0 || psb || pho == HOW_FORCED && EVIDENCE(s))
#endif
#define SPLIT_NEW(s) (sb[s] != 0 || psb || how[s] == HOW_FORCED && pdi)
/* a site leaves the generation it owned for a newer one taken by failover:
 * the regions it wrote that the new owner never took are invalid here */
inline invalidate_dirty(s) {
	if :: dirty[IX(s, 0)] -> valid[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: dirty[IX(s, 1)] -> valid[IX(s, 1)] = 0 :: else -> skip fi;
#endif
	drop_dirty(s) AHEAD_DROPPED(s)
}
#endif

#ifdef FAILOVER
/* Rules 15 and 16.  The peer (or this site) is a replica of S+1 by resolve
 * at the newer site of a split brain (origin resolved, no split); the
 * older site is any owner or yielding site older than an owner of S
 * (whether or not it recorded the split: its answer may have been lost;
 * and though it may be the newer site of an earlier split brain, which
 * the peer then overtook by a resolve and a force: NO_FIX_NEW_OLDER
 * leaves those at rule 11), or a plain replica of S (it resolved too, the
 * resolves crossing).  A statement carries the split's
 * kind but not its generation.  MUTANT_RECORDED_ONLY: as before dccd's
 * review (65b8e24), only an older site that recorded the split with S, or
 * a replica of S. */
#define RESOLVED_PEER(pr) (pr == REPLICA && pho == HOW_RESOLVED && !psb)
#define RESOLVED_HERE(s) (role[s] == REPLICA && how[s] == HOW_RESOLVED && sb[s] == 0)
#ifndef MUTANT_RECORDED_ONLY
#ifndef NO_FIX_NEW_OLDER
#define OLDER_HERE(s, pg) (role[s] == REPLICA && sb[s] == 0 && gen[s] + 1 == pg || \
	role[s] != REPLICA && KEY(role[s], gen[s]) < KEY(OWNER, pg - 1))
#define OLDER_PEER(s, pr, pg) (pr == REPLICA && !psb && pg + 1 == gen[s] || \
	pr != REPLICA && KEY(pr, pg) < KEY(OWNER, gen[s] - 1))
#else
#define OLDER_HERE(s, pg) (role[s] == REPLICA && sb[s] == 0 && gen[s] + 1 == pg || \
	role[s] != REPLICA && sb[s] != SB_NEW && KEY(role[s], gen[s]) < KEY(OWNER, pg - 1))
#define OLDER_PEER(s, pr, pg) (pr == REPLICA && !psb && pg + 1 == gen[s] || \
	pr != REPLICA && !psn && KEY(pr, pg) < KEY(OWNER, gen[s] - 1))
#endif
#else
#define OLDER_HERE(s, pg) (role[s] == REPLICA && sb[s] == 0 && gen[s] + 1 == pg || \
	sb[s] == SB_OLD && sbgen[s] + 1 == pg)
#define OLDER_PEER(s, pr, pg) (pr == REPLICA && !psb && pg + 1 == gen[s] || psb && !psn)
#endif
#endif

#define BEHIND_HERE(s, pr, pg) (role[s] == REPLICA && sb[s] == 0 && pr == OWNER && \
	pho != HOW_HANDOVER && pg > gen[s])

#ifdef LAG
/* a site not the owner pairs again (on the owner's statement m): it
 * forgets the owner's report.  SINCE_PAIRED (ghost): a write the owner
 * acknowledged while apart, before that statement, is one dccd means the
 * next report to count (Daemon::paired: "the owner may have written while
 * apart"): a report in flight, counted before it, no longer leaves it out */
#define PAIR_PROT(i, s) if \
	:: IS(bag[i], PROGRESS, s) -> \
		if :: FLD(m, B_APW0, 1) -> SETF(bag[i], B_DATA, 1, 0) :: else -> skip fi; \
		PAIR_PROT1(i) \
	:: else -> skip \
	fi
#if NR > 1
#define PAIR_PROT1(i) if :: FLD(m, B_APW1, 1) -> SETF(bag[i], B_EXT, 1, 0) :: else -> skip fi
#else
#define PAIR_PROT1(i) skip
#endif
#ifdef FIX_PROG_PAIRING
/* a report sent after the statement m the site paired on (mseq of a
 * PROGRESS: its sender's last seq when it sent it) */
#define TAKES_PROG(s) && pfl[s] != 0 && mseq + 1 >= pfl[s]
#define ACK_FLOOR(s) if \
	:: mdst == peerinc[s] -> pfl[s] = 1 + WM(m) \
	:: else -> pfl[s] = 0   /* another incarnation's: none of the peer's counts */ \
	fi
#ifdef FIX_OWN_ATTACH
/* only the answer to an ATTACH of its own (aseq: sent since it last lost
 * the peer) sets a floor; paired on the owner's ATTACH, which may have
 * been sent before the sites were apart, it takes nothing until then */
#define STMT_FLOOR(s) if \
	:: mt == ATTACH -> pfl[s] = 0 \
	:: else -> ACK_FLOOR(s) \
	fi
#else
#define STMT_FLOOR(s) if \
	:: mt == ATTACH -> pfl[s] = 1 + mseq \
	:: else -> ACK_FLOOR(s) \
	fi
#endif
#else
#define TAKES_PROG(s)
#define STMT_FLOOR(s) skip
#endif
inline paired_again(s) {
	printf("MSC: site %d pairs again: forgets the owner's report\n", s);
	prog[s] = 0;
	STMT_FLOOR(s)
#ifdef SINCE_PAIRED
	; PAIR_PROT(0, s); PAIR_PROT(1, s); PAIR_PROT(2, s); SLOT3(PAIR_PROT(3, s))
#endif
}
#endif

/* pairing: the first rule that matches (here = s / peer = pr, pg) */
inline apply_rule(s, pr, pg) {
	if
#ifdef FAILOVER
	/* first, rules 15 and 16: the newer site resolved a split brain by
	 * dropping its writes, replica of S+1 with origin resolved */
	:: RESOLVED_PEER(pr) && OLDER_HERE(s, pg)   -> rule = R15_TAKE_RESOLVED
	:: RESOLVED_HERE(s) && OLDER_PEER(s, pr, pg) -> rule = R16_WAIT_RESOLVED
	/* then (before rules 5, 7 and 9): the old owner meets the new one (or
	 * the older site of a split brain meets anything) */
	:: (FO_OLD(s, pr, pg) || sb[s] == SB_OLD) && SPLIT_OLD(s) -> rule = R14_SPLIT_BRAIN
	:: FO_OLD(s, pr, pg)                 -> rule = R12_FAILED_OVER
	:: FO_NEW(s, pr, pg) && SPLIT_NEW(s) -> rule = R14_SPLIT_BRAIN
	:: FO_NEW(s, pr, pg)                 -> rule = R13_WAIT_OLD
#ifndef NO_FIX_BEHIND
	/* rules 17 and 18: a plain replica meets an owner of a newer
	 * generation taken without it */
	:: BEHIND_HERE(s, pr, pg)            -> rule = R17_BEHIND
	:: role[s] == OWNER && how[s] != HOW_HANDOVER && pr == REPLICA && !psb && pg < gen[s] ->
		rule = R18_WAIT_BEHIND
#endif
#endif
	:: role[s] == OWNER    && pr == REPLICA  && gen[s] == pg     -> rule = R1_OWNS
	:: role[s] == REPLICA  && pr == OWNER    && gen[s] == pg     -> rule = R2_REPLICA
	:: role[s] == REPLICA  && pr == YIELDING && pg == gen[s] + 1 -> rule = R3_BURN
	:: role[s] == YIELDING && pr == REPLICA  && gen[s] == pg     -> rule = R4_TAKE_BACK
	:: role[s] == YIELDING && pr == OWNER    && gen[s] == pg     -> rule = R5_PEER_TOOK
	:: role[s] == YIELDING && pr == REPLICA  && pg + 1 == gen[s] -> rule = R6_WAIT_BURN
	:: role[s] == OWNER    && pr == YIELDING && gen[s] == pg     -> rule = R7_WAIT_LEARN
	:: role[s] == REPLICA  && pr == YIELDING && gen[s] == pg     -> rule = R8_WAIT_TAKEBACK
	:: role[s] == OWNER    && pr == OWNER                        -> rule = R9_TWO_OWNERS
	:: role[s] == REPLICA  && pr == REPLICA  && gen[s] == pg     -> rule = R10_NO_OWNER
	:: else                                                       -> rule = R11_INCONSISTENT
	fi;
	printf("MSC: site %d rule %d (here role %d gen %d, peer role %d gen %d)\n",
	       s, rule, role[s], gen[s], pr, pg);
	/* (d) rules 9, 10 and 11 are never reached */
#ifndef NO_D
	assert(rule != R9_TWO_OWNERS);
	assert(rule != R10_NO_OWNER);
	assert(rule != R11_INCONSISTENT);
#endif
#ifdef FAILOVER
	/* a split brain arises only from a forced failover */
	assert(rule != R14_SPLIT_BRAIN || forced);
#ifdef CONFIRM
	/* (o) SYNC: and only once some write was acknowledged alone */
	assert(rule != R14_SPLIT_BRAIN || aal);
#endif
#endif
	if
	:: rule == R1_OWNS || rule == R2_REPLICA ->
#ifdef FAILOVER
		sb[s] = 0;                              /* the peer resolved it */
#endif
		if :: rule == R2_REPLICA -> drop_dirty(s) AHEAD_DROPPED(s) :: else -> skip fi;
		if
		:: ho[s] == Unpaired || ho[s] == Paired || ho[s] == Fenced ->
#ifdef LAG
			/* Daemon::paired: a site not the owner that pairs again
			 * forgets the owner's report (paired already, it keeps it) */
			if :: ho[s] != Paired && role[s] != OWNER -> paired_again(s) :: else -> skip fi;
#ifdef FIX_OWN_ATTACH
			/* paired already (on the owner's ATTACH): the answer to its
			 * own ATTACH sets the floor */
			if :: ho[s] == Paired && role[s] != OWNER && mt == ATTACH_ACK -> ACK_FLOOR(s) :: else -> skip fi;
#endif
#endif
			/* (FIX_OWN_ATTACH: an ATTACH of its own still out is forgotten,
			 * as dccd forgets it: its answer may have been made before the
			 * owner last wrote apart, and must not set the floor;
			 * MUTANT_KEEP_ATTACH keeps it, and (m) fails) */
#ifdef MUTANT_KEEP_ATTACH
			ho[s] = Paired;
#else
			ho[s] = Paired; aseq[s] = 0;
#endif
#ifdef FAILOVER
			/* the owner's statement (Daemon::paired) */
			if :: rule == R2_REPLICA -> FOF_SET(s, pho == HOW_FORCED) :: else -> skip fi
#else
			skip
#endif
		:: else -> skip
		fi
	:: rule == R3_BURN ->
		gen[s] = pg;                            /* persist replica G+1 */
#ifdef FAILOVER
		how[s] = HOW_HANDOVER; FOF_SET(s, 0);
#endif
		ho[s] = Unpaired; aseq[s] = 0           /* pair again at once */
	:: rule == R4_TAKE_BACK ->
		role[s] = OWNER;                        /* persist owner G, resume */
#ifdef CONTINUE
		PRESNAP(s);
#endif
		ho[s] = Unpaired; aseq[s] = 0; hseq[s] = 0
	:: rule == R5_PEER_TOOK ->
		role[s] = REPLICA; drop_dirty(s) AHEAD_DROPPED(s); /* persist replica G, one commit */
		ho[s] = Unpaired; aseq[s] = 0; hseq[s] = 0
#ifdef FAILOVER
	:: rule == R12_FAILED_OVER ->
		/* persist replica of the new generation; the regions written here
		 * that the new owner never took become invalid (fetched from it),
		 * one commit */
		assert(!late[s]);                       /* (g) no divergence goes unseen */
		role[s] = REPLICA; gen[s] = pg; how[s] = HOW_HANDOVER;
		/* dccd has no report from the new owner yet (refusal 2) */
		FOF_SET(s, pho == HOW_FORCED);
#ifndef MUTANT_KEEP_DIRTY
		invalidate_dirty(s);
#else
		drop_dirty(s);          /* its own writes kept as valid: (l) */
#endif
		ALONE_END(s);
		ho[s] = Unpaired; aseq[s] = 0; hseq[s] = 0
	:: rule == R14_SPLIT_BRAIN ->
		/* persist the flag (and the new generation, for resolve); the old
		 * site serves nothing from now on */
		if
		/* the newer site of an earlier split brain that meets a newer forced
		 * owner is the older one now */
		:: sb[s] != SB_OLD && KEY(role[s], gen[s]) < KEY(pr, pg) -> sb[s] = SB_OLD; sbgen[s] = pg
		:: sb[s] == 0 && KEY(role[s], gen[s]) > KEY(pr, pg) -> sb[s] = SB_NEW
		/* the older site that meets a still newer owner (forced again after
		 * a resolve there, say) records that generation: a resolve here
		 * then makes it that owner's replica */
		:: sb[s] == SB_OLD && FO_OLD(s, pr, pg) && pg > sbgen[s] -> sbgen[s] = pg
		:: else -> skip
		fi;
		printf("MSC: site %d records a SPLIT BRAIN (%d)\n", s, sb[s]);
		if :: ho[s] == Paired -> ho[s] = Unpaired :: else -> skip fi
	:: rule == R17_BEHIND ->
		/* persist replica of the newer generation: a replica accepted no
		 * write, so nothing of its own is dropped */
		assert(!late[s]);                       /* (g) no divergence goes unseen */
		role[s] = REPLICA; gen[s] = pg; how[s] = HOW_HANDOVER;
		FOF_SET(s, pho == HOW_FORCED);
		printf("MSC: site %d becomes replica of gen %d (rule 17)\n", s, pg);
		ho[s] = Unpaired; aseq[s] = 0; hseq[s] = 0
	:: rule == R15_TAKE_RESOLVED ->
		/* persist owner S+1, no split: the newer site dropped its writes,
		 * this site's dirty regions are kept and replicated */
		role[s] = OWNER; gen[s] = pg; how[s] = HOW_HANDOVER; sb[s] = 0; sbgen[s] = 0;
		late[s] = 0;                            /* the admin named the outcome */
		ALONE_END(s);
#ifdef CONTINUE
		PRESNAP(s);
#endif
		printf("MSC: site %d takes gen %d from a resolve at the peer\n", s, pg);
		ho[s] = Unpaired; aseq[s] = 0; hseq[s] = 0
#endif
	:: else ->                                  /* 6, 7, 8: wait, ask again later */
		if :: ho[s] == Paired -> ho[s] = Unpaired :: else -> skip fi
	fi;
	rule = 0
}

/* the replica remembers the last seq it took for each region only at or
 * above the floor */
inline prune_taken(s) {
	if :: taken[IX(s, 0)] < floor_[s] -> FORGET_TAKEN(s, 0) :: else -> skip fi;
#if NR > 1
	if :: taken[IX(s, 1)] < floor_[s] -> FORGET_TAKEN(s, 1) :: else -> skip fi;
#endif
	skip
}

#ifdef SYNC
/* SYNC: the pending write of r is acknowledged, if the owner still holds a
 * lease (else it fails): the copies that hold it are now the latest, every
 * other copy is stale; a sync write in flight is now older than the latest
 * unless it is this one */
#define ACKED(i, r) if :: (MTYPE(bag[i]) == PUSH || MTYPE(bag[i]) == FETCH_REPLY || MTYPE(bag[i]) == SYNC_WRITE) && \
	FLD(bag[i], B_REG, 1) == (r) -> SETF(bag[i], B_DATA, 1, EXT(bag[i])) :: else -> skip fi
/* (g)'s ghost in SYNC: the write acknowledged here after the peer came to
 * own a newer generation is one the peer's copy does not hold (it did not
 * take it, by a sync write or a push that read it, before it moved on);
 * see the header: "wrote" is "acknowledged", not "landed" */
#define NEWER_PEER(s) (role[PEER(s)] == OWNER && gen[PEER(s)] > gen[s])
#define LATE_ACK(s, r) late[s] = (late[s] || NEWER_PEER(s) && \
	!(valid[IX(PEER(s), r)] && np[IX(PEER(s), r)]))
inline sync_ack(s, r) {
	if
	:: ACCEPTS(s) ->
		LATE_ACK(s, r);
		cur[IX(0, r)] = np[IX(0, r)]; cur[IX(1, r)] = np[IX(1, r)];
		ACKED(0, r); ACKED(1, r); ACKED(2, r); SLOT3(ACKED(3, r));
		printf("MSC: site %d acknowledges its write of r%d\n", s, r)
	:: else ->
		UNC(s, r);
		printf("MSC: site %d fails its write of r%d (no lease)\n", s, r)
	fi;
	pend[IX(s, r)] = 0
}
#ifdef CONTINUE
/* alone: the pending write of r completes without the peer's confirmation
 * (unconfirmed), acknowledged if the owner holds a lease; FIX_AHEAD: the
 * flag set and persisted first, in the same step (MUTANT_AHEAD_LATE: in
 * memory only, persisted by a later step) */
inline ack_alone(s, r) {
	UNC(s, r);
	AHEAD_SET(s, ACCEPTS(s));
#ifdef CONFIRM
	aal = (aal || ACCEPTS(s));
#endif
#ifdef FIX_AHEAD
	printf("MSC: site %d alone, r%d (AHEAD %d):\n", s, r, AHD(s));
#else
	printf("MSC: site %d alone, r%d:\n", s, r);
#endif
	sync_ack(s, r)
}
#endif
#endif

/* ------------------------------------------------------ message handling */
/* for traces: what = 0 delivered to site x, 1 lost, 2 duplicated */
inline print_msg(x, what) {
	if
	:: mt == HELLO -> printf("MSC:   HELLO(inc %d)", msess)
	:: mt == HELLO_ACK -> printf("MSC:   HELLO_ACK(to inc %d, inc %d)", msess, marg)
	:: mt == ATTACH -> printf("MSC:   ATTACH(inc %d seq %d: role %d gen %d)", msess, mseq, marg, mgen)
#ifdef FIX_PROG_PAIRING
	:: mt == ATTACH_ACK -> printf("MSC:   ATTACH_ACK(to inc %d seq %d: role %d gen %d watermark %d)", msess, mseq, marg, mgen, WM(m))
#else
	:: mt == ATTACH_ACK -> printf("MSC:   ATTACH_ACK(to inc %d seq %d: role %d gen %d)", msess, mseq, marg, mgen)
#endif
#ifdef SYNC
	:: mt == PUSH -> printf("MSC:   PUSH(inc %d seq %d gen %d r%d floor %d latest %d pending %d)", msess, mseq, mgen, mreg, marg, mdata, EXT(m))
#else
	:: mt == PUSH -> printf("MSC:   PUSH(inc %d seq %d gen %d r%d floor %d latest %d)", msess, mseq, mgen, mreg, marg, mdata)
#endif
	:: mt == PUSH_ACK -> printf("MSC:   PUSH_ACK(to inc %d seq %d gen %d r%d status %d)", msess, mseq, mgen, mreg, marg)
	:: mt == FETCH -> printf("MSC:   FETCH(inc %d seq %d gen %d r%d)", msess, mseq, mgen, mreg)
	:: mt == FETCH_REPLY -> printf("MSC:   FETCH_REPLY(to inc %d seq %d gen %d r%d status %d latest %d)", msess, mseq, mgen, mreg, marg, mdata)
	:: mt == HANDOVER -> printf("MSC:   HANDOVER(inc %d seq %d gen %d set %d)", msess, mseq, mgen, marg)
	:: mt == HANDOVER_ACK -> printf("MSC:   HANDOVER_ACK(to inc %d seq %d gen %d status %d)", msess, mseq, mgen, marg)
#ifdef FAILOVER
	:: mt == PING -> printf("MSC:   PING(inc %d gen %d)", msess, mgen)
#endif
#ifdef LAG
#if NR > 1
	:: mt == PROGRESS -> printf("MSC:   PROGRESS(inc %d seq %d gen %d at risk %d; ghost: written since r0 %d r1 %d)",
	                            msess, mseq, mgen, marg, mdata, EXT(m))
#else
	:: mt == PROGRESS -> printf("MSC:   PROGRESS(inc %d seq %d gen %d at risk %d; ghost: written since %d)",
	                            msess, mseq, mgen, marg, mdata)
#endif
#endif
#ifdef SYNC
	:: mt == SYNC_WRITE -> printf("MSC:   SYNC_WRITE(inc %d seq %d gen %d r%d latest %d pending %d)", msess, mseq, mgen, mreg, mdata, EXT(m))
	:: mt == SYNC_ACK -> printf("MSC:   SYNC_ACK(to inc %d seq %d r%d status %d)", msess, mseq, mreg, marg)
#endif
#if MAXREREG > 0
	:: mt == DETACH -> printf("MSC:   DETACH(inc %d to inc %d)", msess, mdst)
#endif
	:: else -> skip
	fi;
	if
	:: what == 0 -> printf(" -> site %d\n", x)
	:: what == 1 -> printf(" lost\n")
	:: else -> printf(" duplicated\n")
	fi
}

inline decode(v) {
	m = v;
	mt = FLD(m, B_TYPE, 4); mto = FLD(m, B_TO, 1);
	msess = FLD(m, B_SESS, 2); mdst = FLD(m, B_DST, 2); mseq = FLD(m, B_SEQ, 4);
	mgen = FLD(m, B_GEN, 3); mreg = FLD(m, B_REG, 1); marg = FLD(m, B_ARG, 4);
	mdata = FLD(m, B_DATA, 1)
#ifdef FAILOVER
	;
	/* a statement (ATTACH, ATTACH_ACK) says: arg = role | how << 2,
	 * data = its EVIDENCE (dirty regions), ext = it recorded a split brain */
	if
	:: mt == ATTACH || mt == ATTACH_ACK ->
		pho = marg >> 2; marg = marg & 3; pdi = mdata; psb = EXT(m); psn = SBN(m)
	:: else -> skip
	fi
#endif
}
inline clear_decoded() {
	m = 0; mt = 0; mto = 0; msess = 0; mdst = 0; mseq = 0; mgen = 0;
	mreg = 0; marg = 0; mdata = 0
#ifdef FAILOVER
	; pho = 0; pdi = 0; psb = 0; psn = 0
#endif
}

inline deliver(i) {
	decode(bag[i]);
	bag_del(i);
	print_msg(mto, 0);
	if
	/* ---- HELLO: a site announces its incarnation */
	:: mt == HELLO ->
		if
		:: peerinc[mto] == 0 || msess > peerinc[mto] ->
			if :: peerinc[mto] != 0 -> forget_peer(mto) :: else -> skip fi;
			peerinc[mto] = msess;
			SEND_REP(mto, HELLO_ACK, msess, 0, 0, 0, inc[mto], 0)
		:: peerinc[mto] != 0 && msess == peerinc[mto] ->
			SEND_REP(mto, HELLO_ACK, msess, 0, 0, 0, inc[mto], 0)
		:: else -> skip             /* a late HELLO from a dead dccd */
		fi
	:: mt == HELLO_ACK ->
		if
		:: REP_OK(mto) && (peerinc[mto] == 0 || marg > peerinc[mto]) ->
			if :: peerinc[mto] != 0 -> forget_peer(mto) :: else -> skip fi;
			peerinc[mto] = marg
		:: else -> skip
		fi

	/* ---- ATTACH: the peer states its role (arg) and generation */
	:: mt == ATTACH ->
		if
		:: REQ_OK(mto) && FRESH(mto, marg, mgen) ->
			SAW(mto, marg, mgen);
			apply_rule(mto, marg, mgen);
#ifdef FAILOVER
			SEND_REP(mto, ATTACH_ACK, msess, mseq, gen[mto], 0, role[mto] | (how[mto] << 2), EVIDENCE(mto));
			outbox = outbox | ((sb[mto] != 0) << B_EXT) | ((sb[mto] == SB_NEW) << B_SBN)
#ifdef SINCE_PAIRED
			; outbox = outbox | STMT_APW(mto)
#endif
#ifdef FIX_PROG_PAIRING
			/* dccd takes a seq for every answer; only an owner's is read */
			; if
			:: role[mto] == OWNER ->
				assert(nseq[mto] < MAXSEQ);
				nseq[mto]++;
				/* (B_DST, 0 in other replies: the sender's incarnation,
				 * which the watermark's seq belongs to) */
				outbox = outbox | (nseq[mto] << B_WM) | (inc[mto] << B_DST)
			:: else -> skip
			fi
#endif
#else
			SEND_REP(mto, ATTACH_ACK, msess, mseq, gen[mto], 0, role[mto], 0)
#endif
		:: else -> skip
		fi
	:: mt == ATTACH_ACK ->
		if
		:: REP_OK(mto) && aseq[mto] != 0 && mseq == aseq[mto] && FRESH(mto, marg, mgen) ->
			aseq[mto] = 0;
			SAW(mto, marg, mgen);
			apply_rule(mto, marg, mgen)
		:: REP_OK(mto) && aseq[mto] != 0 && mseq == aseq[mto] ->
			aseq[mto] = 0       /* an older statement than one seen since: ask again */
		:: else -> skip
		fi

	/* ---- PUSH: replication; arg = the sender's floor */
	:: mt == PUSH ->
		if
		:: REQ_OK(mto) ->
			if
			:: role[mto] == REPLICA && gen[mto] == mgen ->
				if :: marg > floor_[mto] -> floor_[mto] = marg :: else -> skip fi;
				prune_taken(mto);
				if
#ifdef MUTANT_FLOOR
				:: mseq <= taken[IX(mto, mreg)] -> skip    /* the floor is not checked */
#else
				:: mseq < floor_[mto] || mseq <= taken[IX(mto, mreg)] -> skip  /* dropped */
#endif
				:: else ->
#ifdef FAILOVER
					assert(sb[mto] == 0);           /* (h) never merged */
#ifdef SYNC
					np[IX(mto, mreg)] = EXT(m);
					tsync[IX(mto, mreg)] = 0;       /* a push */
#endif
#endif
					cur[IX(mto, mreg)] = mdata;     /* written and durable */
					valid[IX(mto, mreg)] = 1;
					taken[IX(mto, mreg)] = mseq;
					SEND_REP(mto, PUSH_ACK, msess, mseq, 0, mreg, OK, 0)
				fi
			:: else -> SEND_REP(mto, PUSH_ACK, msess, mseq, 0, mreg, ESTALE, 0)
			fi
		:: else -> skip
		fi
	:: mt == PUSH_ACK ->
		if
		:: REP_OK(mto) && pseq[IX(mto, mreg)] != 0 && mseq == pseq[IX(mto, mreg)] ->
			pseq[IX(mto, mreg)] = 0;
			/* dccd collects the answers and clears in a later step */
#ifdef CONTINUE
			if :: marg == OK -> pclr[IX(mto, mreg)] = 1; PUSHED(mto, mreg) :: else -> skip fi
#else
			if :: marg == OK -> pclr[IX(mto, mreg)] = 1 :: else -> skip fi
#endif
#ifdef MUTANT_C1
		/* C1: every successful PUSH_ACK clears, whichever arm it belongs to */
		:: REP_OK(mto) && pseq2[IX(mto, mreg)] != 0 && mseq == pseq2[IX(mto, mreg)] ->
			pseq2[IX(mto, mreg)] = 0;
			if :: marg == OK -> CLEAR_DIRTY(mto, mreg) :: else -> skip fi
#endif
		:: else -> skip
		fi

#ifdef SYNC
	/* ---- SYNC_WRITE: the owner's pending write of r (its sectors only);
	 * data = it is not older than the latest acknowledged write, ext = it
	 * is the pending write.  Taken only by a replica of its generation
	 * with no split brain recorded, in seq order with the pushes of r
	 * (PushOrder::take_write): below the floor, stale; newer than the last
	 * taken, applied; older than a push taken (which read r after this
	 * write landed: it carried it), covered; else stale. */
	:: mt == SYNC_WRITE ->
		if
		:: REQ_OK(mto) ->
			if
			:: role[mto] == REPLICA && gen[mto] == mgen && sb[mto] == 0 ->
				if
				:: mseq < floor_[mto] ->
					SEND_REP(mto, SYNC_ACK, msess, mseq, 0, mreg, ESTALE, 0)
				:: mseq > taken[IX(mto, mreg)] ->              /* (0: none taken) */
					/* applied: only its sectors are written, so the copy
					 * holds the pending write (with the latest acknowledged
					 * one) only if it held the latest before; validity is
					 * unchanged */
					np[IX(mto, mreg)] = EXT(m) && cur[IX(mto, mreg)];
					cur[IX(mto, mreg)] = cur[IX(mto, mreg)] && mdata;
#ifndef MUTANT_SYNC_ORDER
					taken[IX(mto, mreg)] = mseq;
					tsync[IX(mto, mreg)] = 1;
#endif
					SEND_REP(mto, SYNC_ACK, msess, mseq, 0, mreg, OK, 0)
				:: mseq < taken[IX(mto, mreg)] && !tsync[IX(mto, mreg)] ->
					printf("MSC: site %d: the push taken covers it\n", mto);
					SEND_REP(mto, SYNC_ACK, msess, mseq, 0, mreg, OK, 0)
				:: else ->
					SEND_REP(mto, SYNC_ACK, msess, mseq, 0, mreg, ESTALE, 0)
				fi
			:: else -> SEND_REP(mto, SYNC_ACK, msess, mseq, 0, mreg, ESTALE, 0)
			fi
		:: else -> skip
		fi
	:: mt == SYNC_ACK ->
		if
		:: REP_OK(mto) && wseq[IX(mto, mreg)] != 0 && mseq == wseq[IX(mto, mreg)] ->
			wseq[IX(mto, mreg)] = 0;
			if
			:: marg == OK -> sync_ack(mto, mreg)
			:: else ->
				pend[IX(mto, mreg)] = 0;
				UNC(mto, mreg);
				printf("MSC: site %d fails its write of r%d (refused)\n", mto, mreg)
			fi
		:: else -> skip
		fi
#endif

	/* ---- FETCH: the owner asks for a region it lacks */
	:: mt == FETCH ->
		if
		:: REQ_OK(mto) ->
			if
			:: role[mto] == REPLICA && gen[mto] == mgen && valid[IX(mto, mreg)] ->
				SEND_REP(mto, FETCH_REPLY, msess, mseq, mgen, mreg, OK, cur[IX(mto, mreg)])
#ifdef SYNC
				; outbox = outbox | (np[IX(mto, mreg)] << B_EXT)
#endif
			:: else ->
				SEND_REP(mto, FETCH_REPLY, msess, mseq, mgen, mreg, ESTALE, 0)
			fi
		:: else -> skip
		fi
	:: mt == FETCH_REPLY ->
		if
		:: REP_OK(mto) && fseq[IX(mto, mreg)] != 0 && mseq == fseq[IX(mto, mreg)] &&
		   mgen == gen[mto] ->
			fseq[IX(mto, mreg)] = 0;
			if
			:: marg == OK && !valid[IX(mto, mreg)] ->   /* the fill, then valid */
#ifdef FAILOVER
				assert(sb[mto] == 0);               /* (h) never merged */
#ifdef SYNC
				np[IX(mto, mreg)] = EXT(m);
#endif
#endif
				cur[IX(mto, mreg)] = mdata; valid[IX(mto, mreg)] = 1
			:: else -> skip                             /* the bio fails */
			fi
		:: else -> skip
		fi

	/* ---- HANDOVER: generation mgen, dirty set marg */
	:: mt == HANDOVER ->
		if
		:: REQ_OK(mto) ->
			SAW(mto, YIELDING, mgen);
			if
			:: role[mto] == REPLICA && mgen == gen[mto] + 1 && burn ->
				/* it answers an ask whose migrate failed: burn G+1 */
				gen[mto] = mgen;
#ifdef FAILOVER
				how[mto] = HOW_HANDOVER; FOF_SET(mto, 0);
#endif
				printf("MSC: site %d refuses HANDOVER gen %d with ECANCELED: burnt\n", mto, mgen);
				SEND_REP(mto, HANDOVER_ACK, msess, mseq, mgen, 0, ECANCELED, 0)
			:: role[mto] == REPLICA && mgen == gen[mto] + 1 && !burn ->
				/* Taking: the set is received (nothing persisted yet) */
				ho[mto] = Taking; tstep[mto] = 1;
				printf("MSC: site %d Taking gen %d: set %d\n", mto, mgen, marg);
				tsess[mto] = msess; tseq[mto] = mseq; tgen[mto] = mgen; tset[mto] = marg
			:: else ->
				SEND_REP(mto, HANDOVER_ACK, msess, mseq, mgen, 0, ESTALE, 0)
			fi
		:: else -> skip
		fi
	:: mt == HANDOVER_ACK ->
		if
		:: REP_OK(mto) && ho[mto] == Sending && mseq == hseq[mto] && mgen == hgen[mto] ->
			hseq[mto] = 0;
			printf("MSC: site %d HANDOVER_ACK status %d\n", mto, marg);
			if
			:: marg == OK ->
				SAW(mto, OWNER, mgen);
				/* SET_ROLE replica G+1 with CLEAN: the old dirty bits
				 * dropped in its commit (torn by a power cut: G_TORN) */
				role[mto] = REPLICA; gen[mto] = hgen[mto]; drop_dirty(mto) AHEAD_DROPPED(mto);
				ho[mto] = Paired
#ifdef FIX_PROG_PAIRING
				; pfl[mto] = 1       /* any report of the new owner's generation */
#endif
			:: marg == ECANCELED ->
				SAW(mto, REPLICA, mgen);
				/* the peer burned G+1: owner G+1, resume */
				role[mto] = OWNER; gen[mto] = hgen[mto];
#ifdef CONTINUE
				PRESNAP(mto);
#endif
#ifdef FAILOVER
				/* a site that recorded a split brain pairs with nobody */
				if :: sb[mto] == 0 -> ho[mto] = Paired :: else -> ho[mto] = Unpaired fi
#else
				ho[mto] = Paired
#endif
			:: else ->
#ifdef MUTANT_H1
				ho[mto] = Paired    /* still owner G: resume as owner */
#else
				ho[mto] = Fenced    /* resume as yielding: every bio fails */
#endif
			fi
		:: else -> skip
		fi
#ifdef FAILOVER
	/* ---- PING: a replica of the owner's generation promises not to fail
	 * over for a lease period from now, unless it is failing over already;
	 * the owner takes the PONG at once (if it is the same incarnation and
	 * still owns that generation) */
	:: mt == PING ->
		if
		:: REQ_OK(mto) && role[mto] == REPLICA && gen[mto] == mgen && ho[mto] != FailingOver ->
			pro[mto] = 1;
			printf("MSC: site %d promises\n", mto);
			if
			:: inc[PEER(mto)] == msess && role[PEER(mto)] == OWNER && gen[PEER(mto)] == mgen ->
				pl[PEER(mto)] = 1
			:: else -> skip
			fi
		:: else -> skip
		fi
#endif
#ifdef LAG
	/* ---- PROGRESS: the owner's report; taken, as dccd does, by a site
	 * that is not an owner, of the sender's generation, paired or not
	 * (failing over too), and (FIX_PROG_PAIRING, core::takes_report) sent
	 * after the owner's statement it last paired on; it replaces the last
	 * one */
	:: mt == PROGRESS ->
		if
		:: REQ_OK(mto) && role[mto] != OWNER && gen[mto] == mgen TAKES_PROG(mto) ->
#ifdef SINCE_UNPAIRED
			/* (n) a site that paired again takes no report counted before
			 * it last stopped being paired */
			assert(!(FLD(m, B_OLD, 1) && ho[mto] == Paired));
#endif
			prog[mto] = 1 + marg;
#ifdef COVER_FRESH
			if :: pfl[mto] > 1 -> rtk[mto] = 1 :: else -> skip fi;
#endif
			pu[IX(mto, 0)] = mdata;
#if NR > 1
			pu[IX(mto, 1)] = EXT(m);
#endif
			printf("MSC: site %d takes the report (at risk %d)\n", mto, marg)
		:: else -> skip
		fi
#endif
#if MAXREREG > 0
	/* ---- DETACH: the peer dropped the volume; for it, a link loss seen by
	 * this site (MAXLINK is not spent) */
	:: mt == DETACH ->
		if
		:: REQ_OK(mto) ->
			printf("MSC: site %d: the peer detached\n", mto);
			forget_link(mto)
		:: else -> skip
		fi
#endif
	:: else -> skip
	fi;
	clear_decoded()
}

/* -------------------------------------------------------- site events */
/* Each event is a guard (G_x, an expression) and a body (x, run in one
 * atomic step).  The main loop picks any event whose guard holds and runs
 * its body followed by check(); see world() below. */

/* a write: this copy is the latest, every other copy of r is stale */
#define STALE(i, r) if :: (MTYPE(bag[i]) == PUSH || MTYPE(bag[i]) == FETCH_REPLY) && \
	FLD(bag[i], B_REG, 1) == (r) -> SETF(bag[i], B_DATA, 1, 0) :: else -> skip fi
#ifdef LAG
/* (m)'s ghosts: the write is newer than every report counted so far, the
 * ones in flight (their bit for r: data for r0, ext = B_DATA + 1 for r1)
 * and the ones taken (pu); SINCE_PAIRED: whether it was made apart */
#define SINCE(i, r) if \
	:: MTYPE(bag[i]) == PROGRESS -> SETF(bag[i], B_DATA + (r), 1, 1) \
	:: else -> skip \
	fi
#ifdef SINCE_PAIRED
/* ... and newer than every statement in flight */
#define STMT_NEW(i, r) if \
	:: MTYPE(bag[i]) == ATTACH || MTYPE(bag[i]) == ATTACH_ACK -> SETF(bag[i], B_APW0 + (r), 1, 0) \
	:: else -> skip \
	fi
#endif
inline lag_write(s, r) {
	pu[IX(0, r)] = 1; pu[IX(1, r)] = 1;
	SINCE(0, r); SINCE(1, r); SINCE(2, r); SLOT3(SINCE(3, r))
#ifdef SINCE_PAIRED
	; apw[r] = (ho[s] != Paired);
	STMT_NEW(0, r); STMT_NEW(1, r); STMT_NEW(2, r); SLOT3(STMT_NEW(3, r))
#endif
}
#endif
inline new_version(s, r) {
	cur[IX(s, r)] = 1;
	cur[IX(PEER(s), r)] = 0;
	STALE(0, r); STALE(1, r); STALE(2, r); SLOT3(STALE(3, r))
#ifdef LAG
	; lag_write(s, r)
#endif
}

/* QUIET_FORCED (with FAILOVER; a bound for the checks of the old site's
 * evidence): an owner by force writes nothing.  Its writes take nothing
 * from what the old site states or holds (here they only take away the
 * old site's pending write of the region: one write of a region pends at
 * a time), and with one force nothing reads its own evidence; they are
 * most of the space after a force. */
#if defined(FAILOVER) && defined(QUIET_FORCED)
#define QUIET(s) && how[s] != HOW_FORCED
#else
#define QUIET(s)
#endif

/* an application write completes at the owner: dirty committed first, then
 * the data, the end disarms the region, then the write is acknowledged */
#ifdef FAILOVER
/* a write at s after the peer came to own a newer generation (ghost; in
 * ASYNC, where a write is acknowledged as it lands) */
#define LATE(s) if :: role[PEER(s)] == OWNER && gen[PEER(s)] > gen[s] -> late[s] = 1 :: else -> skip fi
#endif
#ifdef SYNC
/* SYNC: the write is on this disk and pends until the peer made it durable
 * (PUSH_ACK); one write of r pends at a time; any other copy that held an
 * earlier pending write no longer holds the pending one.  (f) is asserted
 * where it lands; late[] is set where it is acknowledged (LATE_ACK) */
#define LANDS(s) assert(forced || !NEWER_PEER(s))
#define G_WRITE(s, r) (env && ACCEPTS(s) QUIET(s) && valid[IX(s, r)] && !pend[IX(s, r)])
inline pending(s, r) {
	np_clear(r);
	np[IX(s, r)] = 1;
	pend[IX(s, r)] = 1; pend[IX(PEER(s), r)] = 0
}
inline write(s, r) {
	LANDS(s);
	dirty[IX(s, r)] = 1;
	pending(s, r);
	armed[IX(s, r)] = 0;
	printf("MSC: site %d write r%d (pending)\n", s, r)
}
#else
#define G_WRITE(s, r) (env && ACCEPTS(s) QUIET(s) && valid[IX(s, r)])
inline write(s, r) {
#ifdef FAILOVER
	LATE(s);
#endif
	dirty[IX(s, r)] = 1;
	new_version(s, r);
	armed[IX(s, r)] = 0;
	printf("MSC: site %d write r%d (a new latest version)\n", s, r)
}
#endif

/* a whole-region write to a region the owner lacks (no fill under way) */
#ifdef SYNC
#define G_OVERWRITE(s, r) (env && ACCEPTS(s) QUIET(s) && !valid[IX(s, r)] && fseq[IX(s, r)] == 0 && !pend[IX(s, r)])
inline overwrite(s, r) {
	LANDS(s);
	dirty[IX(s, r)] = 1;
	UNC(s, r);                  /* held only after its valid bit's commit: never confirmed */
	pending(s, r);
	cur[IX(s, r)] = 1;          /* the whole region: newer than any acknowledged write */
	valid[IX(s, r)] = 1;
	armed[IX(s, r)] = 0;
	printf("MSC: site %d overwrite r%d (pending)\n", s, r)
}
#else
#define G_OVERWRITE(s, r) (env && ACCEPTS(s) QUIET(s) && !valid[IX(s, r)] && fseq[IX(s, r)] == 0)
inline overwrite(s, r) {
#ifdef FAILOVER
	LATE(s);
#endif
	dirty[IX(s, r)] = 1;
	new_version(s, r);
	valid[IX(s, r)] = 1;
	armed[IX(s, r)] = 0;
	printf("MSC: site %d overwrite r%d (a new latest version)\n", s, r)
}
#endif

/* ARM just before the read, then PUSH(seq, data, floor).  A region with a
 * push in flight is never armed or pushed again (C1 fix). */
#ifdef MUTANT_C1
#define NOT_PUSHING(s, r) (pseq[IX(s, r)] == 0 || pseq2[IX(s, r)] == 0)
#elif defined(MUTANT_C1_CLEAR)
#define NOT_PUSHING(s, r) (pseq[IX(s, r)] == 0)
#else
#define NOT_PUSHING(s, r) (pseq[IX(s, r)] == 0 && !pclr[IX(s, r)])
#endif

/* the CLEAR_DIRTY an answer allowed (only an owner sends it) */
#define G_CLEAR(s, r) (pclr[IX(s, r)])
#ifdef CONFIRM
/* CONFIRM (SYNC): an owner's dccd clears, without a push, the dirty bit of
 * a region whose writes the peer all confirmed (Daemon::replicate, and
 * before a handover reads its dirty set; DCC_CMD_CLEAR_DIRTY with
 * DCC_CLEAR_CONFIRMED): the kernel refuses a region with a write that
 * pends (held) or that ended unconfirmed since a push last cleared it.
 * Here at any moment, paired or not.  MUTANT_CONFIRM_UNC: the kernel
 * forgets the second test; MUTANT_CONFIRM_HELD, the first. */
#ifdef MUTANT_CONFIRM_UNC
#define G_CONFIRM(s, r) (role[s] == OWNER && !BUSY(s) && dirty[IX(s, r)] && !pend[IX(s, r)])
#elif defined(MUTANT_CONFIRM_HELD)
#define G_CONFIRM(s, r) (role[s] == OWNER && !BUSY(s) && dirty[IX(s, r)] && !unc[IX(s, r)])
#else
#define G_CONFIRM(s, r) (role[s] == OWNER && !BUSY(s) && dirty[IX(s, r)] && !pend[IX(s, r)] && \
	!unc[IX(s, r)])
#endif
inline confirm(s, r) {
	dirty[IX(s, r)] = 0;
	armed[IX(s, r)] = 0;
	AHEAD_CLEARED(s);
	printf("MSC: site %d clears r%d: every write of it confirmed\n", s, r)
#ifdef FIX_AHEAD
	; printf("MSC: site %d AHEAD %d\n", s, AHD(s))
#endif
}
#define CONFIRM_EVENT(s, r) ON(G_CONFIRM(s, r), E_CONFIRM, s, r)
#else
#define CONFIRM_EVENT(s, r)
#endif
inline clear_pushed(s, r) {
	if :: role[s] == OWNER -> CLEAR_DIRTY(s, r) :: else -> skip fi;
	pclr[IX(s, r)] = 0
}
#ifdef FAILOVER
/* ... or one the replica lacks (its INVALID_SET, sent when it pairs, is
 * read here from its state: after a failover the old owner lacks what it
 * wrote and the new owner never took) */
#define G_PUSH(s, r) (env && !BUSY(s) && role[s] == OWNER && ho[s] == Paired && \
	(dirty[IX(s, r)] || !valid[IX(PEER(s), r)] && role[PEER(s)] == REPLICA && gen[PEER(s)] == gen[s]) && \
	valid[IX(s, r)] && NOT_PUSHING(s, r) && nseq[s] < MAXSEQ PUSH_NOT_ALONE(s))
#else
#define G_PUSH(s, r) (env && !BUSY(s) && role[s] == OWNER && ho[s] == Paired && dirty[IX(s, r)] && \
	valid[IX(s, r)] && NOT_PUSHING(s, r) && nseq[s] < MAXSEQ)
#endif
inline push(s, r) {
	ARM(s, r);
	nseq[s]++;
#ifdef MUTANT_C1
	if
	:: pseq[IX(s, r)] == 0 -> pseq[IX(s, r)] = nseq[s]
	:: else -> pseq2[IX(s, r)] = nseq[s]
	fi;
#else
	pseq[IX(s, r)] = nseq[s];
#endif
	compute_floor(s, nseq[s]);
#ifdef FAILOVER
	assert(sb[s] == 0);                 /* (h) never merged */
#endif
#ifdef SYNC
	printf("MSC: site %d PUSH r%d seq %d latest %d pending %d floor %d gen %d\n", s, r, nseq[s], cur[IX(s, r)], np[IX(s, r)], fl, gen[s]);
	SEND_REQ(s, PUSH, nseq[s], gen[s], r, fl, cur[IX(s, r)]);
	outbox = outbox | (np[IX(s, r)] << B_EXT);
#else
	printf("MSC: site %d PUSH r%d seq %d latest %d floor %d gen %d\n", s, r, nseq[s], cur[IX(s, r)], fl, gen[s]);
	SEND_REQ(s, PUSH, nseq[s], gen[s], r, fl, cur[IX(s, r)]);
#endif
	fl = 0
}

#ifdef SYNC
/* the owner's shipper: SYNC_WRITE of the pending write of r, once, while
 * paired (the link up); its seq is taken from the pushes' count as it reads
 * the write's sectors (which the write reached: they hold it) */
#define G_SYNC_SEND(s, r) (env && pend[IX(s, r)] && wseq[IX(s, r)] == 0 && !BUSY(s) && \
	role[s] == OWNER && ho[s] == Paired && nseq[s] < MAXSEQ)
inline sync_send(s, r) {
	nseq[s]++;
	wseq[IX(s, r)] = nseq[s];
	assert(sb[s] == 0);                 /* (h) never merged */
	printf("MSC: site %d SYNC_WRITE r%d seq %d gen %d\n", s, r, nseq[s], gen[s]);
	SEND_REQ(s, SYNC_WRITE, nseq[s], gen[s], r, 0, 1);
	outbox = outbox | (1 << B_EXT)
#ifdef MUTANT_SYNC_ACK
	/* the mutant: the write is acknowledged as its sync write leaves */
	; sync_ack(s, r)
#endif
}
/* no answer within 3 s: sent again (with a new seq).  Only once the
 * SYNC_WRITE or its answer was lost, as for fetches: a late one comes from
 * link losses (forget_link) instead. */
#define SW_IN(i, s, r) ((IS(bag[i], SYNC_WRITE, PEER(s)) && FLD(bag[i], B_SESS, 2) == inc[s] || \
	IS(bag[i], SYNC_ACK, s)) && FLD(bag[i], B_REG, 1) == (r) && FLD(bag[i], B_SEQ, 4) == wseq[IX(s, r)])
#define G_SYNC_RESEND(s, r) (wseq[IX(s, r)] != 0 && !BUSY(s) && \
	!(SW_IN(0, s, r) || SW_IN(1, s, r) || SW_IN(2, s, r) OR_SLOT3(SW_IN(3, s, r))))
inline sync_resend(s, r) {
	wseq[IX(s, r)] = 0
}
#endif

/* a read (or partial write) of a region the owner lacks: FETCH */
#define G_FETCH(s, r) (env && !BUSY(s) && role[s] == OWNER && ho[s] == Paired && !valid[IX(s, r)] && \
	fseq[IX(s, r)] == 0 && nseq[s] < MAXSEQ)
inline fetch(s, r) {
	nseq[s]++;
	fseq[IX(s, r)] = nseq[s];
	printf("MSC: site %d FETCH r%d seq %d\n", s, r, nseq[s]);
	SEND_REQ(s, FETCH, nseq[s], gen[s], r, 0, 0)
}

/* a fetch is given up (miss timeout: the bio fails).  Only once the FETCH
 * or its answer was lost: a late answer to a fetch the owner forgot is
 * produced by link losses and power cuts (forget_link) instead, which keeps
 * the state space small. */
#define FILL_IN(i, s, r) ((IS(bag[i], FETCH, PEER(s)) || IS(bag[i], FETCH_REPLY, s)) && FLD(bag[i], B_REG, 1) == (r))
#define G_FILL_TIMEOUT(s, r) (fseq[IX(s, r)] != 0 && !BUSY(s) && \
	!(FILL_IN(0, s, r) || FILL_IN(1, s, r) || FILL_IN(2, s, r) OR_SLOT3(FILL_IN(3, s, r))))
inline fill_timeout(s, r) {
	fseq[IX(s, r)] = 0
}

/* migrate at the owner: Demoting (suspend, end fills, read dirty - invalid,
 * SET_ROLE yielding G+1 committed) */
#define G_MIGRATE(s) (env && migs > 0 && !BUSY(s) && role[s] == OWNER && ho[s] == Paired)
inline migrate(s) {
	migs--;
	ho[s] = Demoting;
	fseq[IX(s, 0)] = 0;
	hset[s] = (dirty[IX(s, 0)] && valid[IX(s, 0)]);
#if NR > 1
	fseq[IX(s, 1)] = 0;
	hset[s] = hset[s] | ((dirty[IX(s, 1)] && valid[IX(s, 1)]) << 1);
#endif
	aseq[s] = 0;
	hgen[s] = gen[s] + 1;
	ALONE_END(s);
#ifndef MUTANT_H1
	role[s] = YIELDING;         /* persisted BEFORE the HANDOVER leaves */
	gen[s] = hgen[s];
#endif
	printf("MSC: site %d migrate: Demoting, set %d, gen %d\n", s, hset[s], hgen[s])
}

/* Demoting -> Sending: HANDOVER(G+1, set) */
#define G_SEND_HANDOVER(s) (ho[s] == Demoting && nseq[s] < MAXSEQ)
inline send_handover(s) {
	nseq[s]++;
	hseq[s] = nseq[s];
	ho[s] = Sending;
	printf("MSC: site %d HANDOVER seq %d gen %d set %d\n", s, nseq[s], hgen[s], hset[s]);
	SEND_REQ(s, HANDOVER, nseq[s], hgen[s], 0, hset[s], 0)
}

/* no answer within handover_timeout_ms: resume as yielding, every bio fails
 * (MUTANT_H1: Fenced in memory only, the disk still says owner G) */
#define G_HANDOVER_TIMEOUT(s) (ho[s] == Sending)
inline handover_timeout(s) {
	hseq[s] = 0;
	ho[s] = Fenced;
	printf("MSC: site %d handover timeout: Fenced\n", s)
}

/* Taking, second step: SET_ROLE owner G+1 with the set's RANGES made
 * invalid (FORCE), one commit */
#define G_TAKE_PERSIST(s) (ho[s] == Taking && tstep[s] == 1)
inline take_persist(s) {
#ifndef MUTANT_TAKE_VALID
	if :: tset[s] & 1 -> valid[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
	if :: tset[s] & 2 -> valid[IX(s, 1)] = 0 :: else -> skip fi;
#endif
#endif
	role[s] = OWNER; gen[s] = tgen[s];
#ifdef FAILOVER
	how[s] = HOW_HANDOVER;
#endif
#ifdef CONTINUE
	PRESNAP(s);
#endif
	tstep[s] = 2;
	printf("MSC: site %d took gen %d\n", s, gen[s])
}

/* Taking, last step: HANDOVER_ACK(ok); FIX_REPAIR: then pair again */
#define G_TAKE_ACK(s) (ho[s] == Taking && tstep[s] == 2)
inline take_ack(s) {
	SEND_REP(s, HANDOVER_ACK, tsess[s], tseq[s], tgen[s], 0, OK, 0);
#ifdef FIX_REPAIR
	ho[s] = Unpaired;           /* changed: pair again at once (rule 1 confirms the peer) */
#else
	ho[s] = Paired;             /* docs/protocol.md: -> Paired, owner G+1 */
#endif
	aseq[s] = 0;
	tstep[s] = 0; tsess[s] = 0; tseq[s] = 0; tgen[s] = 0; tset[s] = 0
}

/* pairing: a site that is not paired asks (at its next heartbeat) */
#ifdef FIX_OWN_ATTACH
/* a replica paired on the owner's ATTACH says ATTACH itself, for a floor
 * (dccd at once if none is out, and at each heartbeat until one is
 * answered; here at any moment, only while a failover may still read the
 * report) */
#define OWN_ATTACH_DUE(s) || ho[s] == Paired && role[s] == REPLICA && pfl[s] == 0 && fos > 0
#else
#define OWN_ATTACH_DUE(s)
#endif
#define ATTACH_GUARD(s) (!BUSY(s) && (ho[s] == Unpaired || ho[s] == Fenced OWN_ATTACH_DUE(s)) && peerinc[s] != 0 && \
	!INBAG(ATTACH, PEER(s)) && !INBAG(ATTACH_ACK, s) && nseq[s] < MAXSEQ)
#define G_ATTACH(s) ((env || timeout && tail > 0) && ATTACH_GUARD(s))
inline attach(s) {
	if :: !env -> tail-- :: else -> skip fi;
	nseq[s]++;
	aseq[s] = nseq[s];
	printf("MSC: site %d ATTACH seq %d role %d gen %d\n", s, nseq[s], role[s], gen[s]);
#ifdef FAILOVER
	SEND_REQ(s, ATTACH, nseq[s], gen[s], 0, role[s] | (how[s] << 2), EVIDENCE(s));
	outbox = outbox | ((sb[s] != 0) << B_EXT) | ((sb[s] == SB_NEW) << B_SBN)
#ifdef SINCE_PAIRED
	; outbox = outbox | STMT_APW(s)
#endif
#else
	SEND_REQ(s, ATTACH, nseq[s], gen[s], 0, role[s], 0)
#endif
}

/* link up: a site that does not know its peer's incarnation says HELLO */
#define G_HELLO(s) (peerinc[s] == 0 && !INBAG(HELLO, PEER(s)) && !INBAG(HELLO_ACK, s))
inline hello(s) {
	outbox = ENC(HELLO, PEER(s), inc[s], 0, 0, 0, 0, 0, 0)
}

/* ------------------------------------------------------------ faults */
/* a power cut: the site comes back with its persisted state only, a new
 * incarnation, and says HELLO.  CUTS_AFTER_FORCE (with FAILOVER; a bound
 * for the checks of the old site's evidence): only once a force happened */
#if defined(FAILOVER) && defined(CUTS_AFTER_FORCE)
#define CUT_OK && forced
#else
#define CUT_OK
#endif
#define G_CRASH(s) (env && crashes > 0 CUT_OK)
inline crash(s) {
	crashes--;
	printf("MSC: site %d CRASH (role %d gen %d ho %d)\n", s, role[s], gen[s], ho[s]);
	ho[s] = Unpaired;
	inc[s]++;
	peerinc[s] = 0;
	nseq[s] = 0;
	armed[IX(s, 0)] = 0; pseq[IX(s, 0)] = 0; fseq[IX(s, 0)] = 0; taken[IX(s, 0)] = 0;
	pclr[IX(s, 0)] = 0;
#ifdef MUTANT_C1
	pseq2[IX(s, 0)] = 0;
#endif
#if NR > 1
	armed[IX(s, 1)] = 0; pseq[IX(s, 1)] = 0; fseq[IX(s, 1)] = 0; taken[IX(s, 1)] = 0;
	pclr[IX(s, 1)] = 0;
#ifdef MUTANT_C1
	pseq2[IX(s, 1)] = 0;
#endif
#endif
	floor_[s] = 0; aseq[s] = 0; hseq[s] = 0; hgen[s] = 0; hset[s] = 0;
	tstep[s] = 0; tsess[s] = 0; tseq[s] = 0; tgen[s] = 0; tset[s] = 0;
#ifdef FIX_NEWEST
	known[s] = 0;
#endif
#ifdef FAILOVER
	/* every lease is lost; a promise it may have given counts as running */
	pl[s] = 0; wl[s] = 0; pro[s] = 1; fstep[s] = 0;
	ALONE_END(s);
#ifdef LAG
	prog[s] = 0;            /* no report since it started */
#ifdef FIX_PROG_PAIRING
	pfl[s] = 0;             /* nor a pairing */
#endif
#endif
#ifdef SYNC
	pend[IX(s, 0)] = 0; wseq[IX(s, 0)] = 0; tsync[IX(s, 0)] = 0;
#if NR > 1
	pend[IX(s, 1)] = 0; wseq[IX(s, 1)] = 0; tsync[IX(s, 1)] = 0;
#endif
	UNC_ALL(s);             /* the target loaded again */
#endif
#ifdef MUTANT_AHEAD_LATE
	ahv[s] = ahd[s];        /* the flag as persisted */
#endif
#ifdef CONTINUE
	/* presync at start: the persisted dirty bits (all unconfirmed now) */
	if :: role[s] == OWNER -> PRESNAP(s) :: else -> skip fi;
#endif
#endif
	outbox = ENC(HELLO, PEER(s), inc[s], 0, 0, 0, 0, 0, 0)
}

/* ... or one inside a SET_ROLE commit that also changes bitmaps: their
 * blocks reach the disk before the superblock, so the bitmaps may be ahead
 * of the role.  The new owner, Taking: the set invalid, still replica G.
 * The old owner, Sending, once the peer took G+1 (the only time it asks
 * for CLEAN): its dirty bits dropped, still yielding G+1. */
#define G_TORN(s) (env && crashes > 0 CUT_OK && \
	((ho[s] == Taking && tstep[s] == 1) || \
	 (ho[s] == Sending && role[PEER(s)] == OWNER && gen[PEER(s)] == hgen[s])))
inline torn_bits(s) {
	printf("MSC: site %d: the power cut falls inside the commit\n", s);
	if
	:: ho[s] == Taking ->
		if :: tset[s] & 1 -> valid[IX(s, 0)] = 0 :: else -> skip fi;
#if NR > 1
		if :: tset[s] & 2 -> valid[IX(s, 1)] = 0 :: else -> skip fi;
#endif
		skip
	:: else -> drop_dirty(s)
	fi
}

/* the link is lost as seen by one site (heartbeat timeout) */
#define G_LINKDOWN(s) (env && links > 0 && !BUSY(s))
inline linkdown(s) {
	links--;
	printf("MSC: site %d link lost\n", s);
	forget_link(s)
}

#if MAXREREG > 0
/* the volume is removed (dmsetup remove) and created again within one dccd
 * incarnation: the daemon drops the volume and adds it again.  Not inside a
 * handler; in SYNC not while a write pends there (a device with I/O in
 * flight cannot be removed).  Its volatile state goes as in a power cut,
 * but the incarnations and the seq counter are the daemon's and stay, and
 * (FIX_KEEP) so does the memory kept per volume UUID: the replica's push
 * order (last seq taken, floor; SYNC: which kind) and (FIX_NEWEST) the
 * newest peer statement seen.  The kernel's armed bits go with the target.
 * FIX_DETACH: it says DETACH (if it knows the peer).  No HELLO: it pairs
 * again by ATTACH. */
#ifdef SYNC
#if NR > 1
#define NO_PEND(s) (!pend[IX(s, 0)] && !pend[IX(s, 1)])
#else
#define NO_PEND(s) (!pend[IX(s, 0)])
#endif
#else
#define NO_PEND(s) 1
#endif
#define G_REREG(s) (env && reregs > 0 && !BUSY(s) && NO_PEND(s))
inline rereg(s) {
	reregs--;
	printf("MSC: site %d volume REMOVED and added again (role %d gen %d ho %d)\n", s, role[s], gen[s], ho[s]);
	ho[s] = Unpaired;
	armed[IX(s, 0)] = 0; pseq[IX(s, 0)] = 0; fseq[IX(s, 0)] = 0; pclr[IX(s, 0)] = 0;
#ifdef MUTANT_C1
	pseq2[IX(s, 0)] = 0;
#endif
#if NR > 1
	armed[IX(s, 1)] = 0; pseq[IX(s, 1)] = 0; fseq[IX(s, 1)] = 0; pclr[IX(s, 1)] = 0;
#ifdef MUTANT_C1
	pseq2[IX(s, 1)] = 0;
#endif
#endif
#ifndef FIX_KEEP
	FORGET_TAKEN(s, 0);
#if NR > 1
	FORGET_TAKEN(s, 1);
#endif
	floor_[s] = 0;
#endif
#if defined(FIX_NEWEST) && (!defined(FIX_KEEP) || defined(NO_KEEP_KNOWN))
	known[s] = 0;
#endif
	aseq[s] = 0; hseq[s] = 0; hgen[s] = 0; hset[s] = 0;
	tstep[s] = 0; tsess[s] = 0; tseq[s] = 0; tgen[s] = 0; tset[s] = 0;
#ifdef FAILOVER
	/* as after a power cut: no lease; a promise the old volume object may
	 * have given counts as running */
	pl[s] = 0; wl[s] = 0; pro[s] = 1; fstep[s] = 0;
	ALONE_END(s);
#ifdef LAG
	prog[s] = 0;            /* a new volume object: no report yet */
#ifdef FIX_PROG_PAIRING
	pfl[s] = 0;
#endif
#endif
#ifdef SYNC
	wseq[IX(s, 0)] = 0;
#if NR > 1
	wseq[IX(s, 1)] = 0;
#endif
	UNC_ALL(s);             /* a new target */
#endif
#ifdef MUTANT_AHEAD_LATE
	ahv[s] = ahd[s];
#endif
#ifdef CONTINUE
	/* a new volume object: presync read afresh (of the new target) */
	if :: role[s] == OWNER -> PRESNAP(s) :: else -> skip fi;
#endif
#endif
#ifdef FIX_DETACH
	if :: peerinc[s] != 0 -> SEND_REQ(s, DETACH, 0, 0, 0, 0, 0) :: else -> skip fi
#endif
}
#define REREG_EVENT(s) ON(G_REREG(s), E_REREG, s, 0)
#else
#define REREG_EVENT(s)
#endif

/* the link: deliver, lose or duplicate the message in slot i */
#define G_DELIVER(i) (bag[i] != 0 && !BUSY(MTO(bag[i])))
#define G_BURN(i) (MTYPE(bag[i]) == HANDOVER && !BUSY(MTO(bag[i])))
#define G_LOSE(i) (env && losses > 0 && bag[i] != 0)
#define G_DUP(i) (env && dups > 0 && bag[i] != 0 && bag[K - 1] == 0)

#ifdef FAILOVER
/* ---------------------------------------------------- leases (FAILOVER) */
/* The owner renews a lease once it ended (PING to the peer, RENEW to the
 * witness), when its previous request is no longer in flight. */
#define G_PING(s) (env && role[s] == OWNER && !pl[s] && !BUSY(s) && peerinc[s] != 0 && \
	!INBAG(PING, PEER(s)))
inline ping(s) {
	SEND_REQ(s, PING, 0, gen[s], 0, 0, 0)
}
#ifdef CONTINUE
/* dccd renews for ever, and (FIX_LEARN) each grant states the fence; the
 * model's renewals stop with the environment.  So after the stop an owner
 * that holds no witness lease renews once more, on spin's timeout (nothing
 * else can happen), if the witness grants it: a refused RENEW changes
 * nothing here, and after a granted one the lease is held to the end (no
 * lease ends once the environment stopped), so this is one renewal, not a
 * loop.  An owner that holds one took a grant since it restarted, and
 * every fence set since then is one it took at once (OUTDATE). */
#ifndef NO_FIX_NEWER
#define RENEW_GRANTS(s) (WGEN == gen[s] && WOWN == (s) || WGEN < gen[s])
#else
#define RENEW_GRANTS(s) (WGEN == gen[s] && WOWN == (s))
#endif
#define RENEW_GUARD(s) (role[s] == OWNER && !wl[s] && !BUSY(s) && !WINBAG(W_RENEW, s))
#define TAIL_RENEW(s) (RENEW_GRANTS(s) && RENEW_GUARD(s))
#define G_RENEW(s) ((env || timeout && RENEW_GRANTS(s)) && RENEW_GUARD(s))
#else
#define G_RENEW(s) (env && role[s] == OWNER && !wl[s] && !BUSY(s) && !WINBAG(W_RENEW, s))
#endif
inline renew(s) {
	wbag_put(WENC(W_RENEW, s, gen[s]))
}

/* Time: see the header.  An owner's lease may end at any moment. */
#define G_PL_END(s) (env && pl[s])
#define G_WL_END(s) (env && wl[s])

#ifdef LAG
/* ------------------------------------------------ the owner's report (LAG) */
/* Daemon::tell_progress: the owner, paired (the link up), counts the
 * regions not yet the same at both sites: dirty (the kernel's count: a
 * region stays dirty until the answer to a push armed after its last write
 * clears it), owed to the replica (its INVALID_SET, read here from its
 * state as for pushes), or missing here; only "none" or "some" matters to
 * refusal 2.  Sent at any moment (dccd: when the count changes, and every
 * 2 s or 30 s), one in flight at a time (a later one only replaces what an
 * earlier one said), and not once no failover can come (nothing reads it
 * then).  MUTANT_PROG_PUSH: a dirty region whose push is unanswered counts
 * as the same at both sites. */
#ifdef MUTANT_PROG_PUSH
#define LAG_DIRTY(s, r) (dirty[IX(s, r)] && pseq[IX(s, r)] == 0)
#else
#define LAG_DIRTY(s, r) (dirty[IX(s, r)])
#endif
#define LAG_AT(s, r) (LAG_DIRTY(s, r) || !valid[IX(s, r)] || \
	!valid[IX(PEER(s), r)] && role[PEER(s)] == REPLICA && gen[PEER(s)] == gen[s])
#if NR > 1
#define LAG_ANY(s) (LAG_AT(s, 0) || LAG_AT(s, 1))
#else
#define LAG_ANY(s) (LAG_AT(s, 0))
#endif
#define G_PROGRESS(s) (env && fos > 0 && role[s] == OWNER && ho[s] == Paired && !BUSY(s) && \
	!INBAG(PROGRESS, PEER(s)))
inline progress(s) {
	printf("MSC: site %d PROGRESS seq %d gen %d at risk %d\n", s, nseq[s], gen[s], LAG_ANY(s));
	SEND_REQ(s, PROGRESS, nseq[s], gen[s], 0, LAG_ANY(s), 0)
}
#endif

/* -------------------------------------------------- failover (FAILOVER) */
/* dccctl failover at a replica.  Refusal 1 (the peer is reachable) is not
 * modelled: safety must not depend on it.  Refusal 2 is modelled for the
 * regions this copy lacks and (LAG) for the owner's report: none since the
 * site started, last paired or last owned, or one of regions at risk;
 * MUTANT_NOHYDRATE leaves it out.  Refusals 3 and 4 are the CLAIM's, and
 * refusal 3 an owner by force (FIX_FORCED_LEASE). */
#if NR > 1
#define ALL_VALID(s) (valid[IX(s, 0)] && valid[IX(s, 1)])
#else
#define ALL_VALID(s) (valid[IX(s, 0)])
#endif
#ifdef MUTANT_NOHYDRATE
#define REFUSAL2(s) 1
#elif defined(LAG)
#define REFUSAL2(s) (ALL_VALID(s) && prog[s] == 1)
#else
#define REFUSAL2(s) ALL_VALID(s)
#endif
/* FIX_FORCED_LEASE (refusal 3, core::failover_refusal): the owner of this
 * generation took it by force, as this site last heard (fof[]) */
#define G_FAILOVER(s) (env && fos > 0 && role[s] == REPLICA && !BUSY(s) && ho[s] != FailingOver && REFUSAL2(s) && \
	!FOF(s))
#ifdef LAG
/* (m): r holds here the latest acknowledged write, or that write is newer
 * than the count of the report this site took */
#define LAG_KEPT(s, r) (valid[IX(s, r)] && cur[IX(s, r)] || pu[IX(s, r)])
#endif
inline failover(s) {
#ifdef LAG
	/* (m) refusal 2 lets a failover through only while this site holds
	 * every write the owner acknowledged before it counted the report this
	 * site took (until the first failover, as (b) and (c)) */
	assert(!DATA_KEPT || LAG_KEPT(s, 0) && LAG_KEPT(s, NR - 1));
#ifdef COVER_FRESH
	/* a cover check, meant to fail: a failover that refusal 2 let through
	 * on a report taken after the site paired again is reachable */
	assert(!rtk[s]);
#endif
#endif
	fos--;
	if :: ho[s] == Paired -> forget_link(s) :: else -> skip fi;
	ho[s] = FailingOver; fstep[s] = 0; aseq[s] = 0;
	printf("MSC: site %d failover: waits for its promise to end\n", s)
}
/* its last promise ended: CLAIM G+1 at the witness (MUTANT_NOWAIT: at once) */
#ifdef MUTANT_NOWAIT
#define PROMISE_ENDED(s) 1
#else
#define PROMISE_ENDED(s) (!pro[s])
#endif
#define G_CLAIM(s) (ho[s] == FailingOver && fstep[s] == 0 && PROMISE_ENDED(s) && !BUSY(s))
inline claim(s) {
	fstep[s] = 1;
	printf("MSC: site %d CLAIM gen %d (its promise over %d, the peer holds its lease %d)\n",
	       s, gen[s] + 1, !pro[s], pl[PEER(s)]);
	wbag_put(WENC(W_CLAIM, s, gen[s] + 1))
}
/* no answer (the witness refused, or the answer was lost): give up */
#define G_FO_GIVEUP(s) (ho[s] == FailingOver && !BUSY(s))
inline fo_giveup(s) {
	ho[s] = Unpaired; fstep[s] = 0;
	printf("MSC: site %d failover gives up\n", s)
}
/* the witness granted G+1: persist owner G+1, failover in the history */
#ifdef FIX_ATTEMPT
#define CLAIM_MINE(s) (ho[s] == FailingOver && fstep[s] == 1)
#else
#define CLAIM_MINE(s) (ho[s] == FailingOver)
#endif
inline claimed(s, g) {
	if
	:: CLAIM_MINE(s) && role[s] == REPLICA && gen[s] + 1 == g ->
		role[s] = OWNER; gen[s] = g; how[s] = HOW_FAILOVER;
#ifdef CONTINUE
		PRESNAP(s);
#endif
		ho[s] = Unpaired; aseq[s] = 0; fstep[s] = 0;
		fodone = 1;
		printf("MSC: site %d owns gen %d by failover\n", s, g)
	:: else -> skip
	fi
}
/* dccctl failover --force: no checks, owner G+1 at once */
#define G_FORCE(s) (env && forces > 0 && role[s] == REPLICA && !BUSY(s))
inline force(s) {
	forces--;
	if :: ho[s] == Paired -> forget_link(s) :: else -> skip fi;
	role[s] = OWNER; gen[s] = gen[s] + 1; how[s] = HOW_FORCED;
#ifdef CONTINUE
	PRESNAP(s);
#endif
	ho[s] = Unpaired; aseq[s] = 0; fstep[s] = 0;
	forced = 1;
	printf("MSC: site %d FORCED failover: owns gen %d\n", s, gen[s])
}
/* dccctl resolve --discard-local at either site of a split brain: its
 * changes go.  At the older site: it becomes the newer owner's replica
 * (of the generation it recorded) and lacks what it wrote.  At the newer
 * site (the owner; core::Ownership::resolve_discard_local, its I/O
 * stopped first: one step here): replica of the next generation S+1 with
 * origin resolved, its dirty regions invalid; no site owns S+1 until the
 * older site takes it (rule 15). */
#define G_RESOLVE(s) (env && resolves > 0 && (sb[s] == SB_OLD || sb[s] == SB_NEW && role[s] == OWNER) && !BUSY(s))
inline resolve(s) {
	resolves--;
	if
	:: sb[s] == SB_OLD ->
		role[s] = REPLICA; gen[s] = sbgen[s]; how[s] = HOW_HANDOVER;
		FOF_SET(s, 1);          /* no report from the owner (refusal 2) */
		invalidate_dirty(s)
	:: else ->
		role[s] = REPLICA; gen[s] = gen[s] + 1; how[s] = HOW_RESOLVED;
		invalidate_dirty(s)
	fi;
	/* the admin named the outcome: what this site wrote is dropped, late
	 * or not (at the newer site too: the peer may have moved on by a
	 * resolve and a force since this site recorded the split) */
	late[s] = 0;
	sb[s] = 0; sbgen[s] = 0;
	ALONE_END(s);
	forget_link(s);
	ho[s] = Unpaired; aseq[s] = 0;
	printf("MSC: site %d resolve --discard-local: replica gen %d (origin %d)\n", s, gen[s], how[s])
}

#ifdef CONTINUE
/* the record's fence: no CLAIM while the replica is outdated; a record of a
 * newer generation has none (its replica is the old owner, which holds
 * what it wrote) */
#define CLAIM_FENCE (!wout)
#ifdef FIX_EPOCH
#define EPOCH_OK(w) (WEPOF(w) == wep)
#else
#define EPOCH_OK(w) 1
#endif
#define WOUT_NEWGEN wout = 0
#else
#define CLAIM_FENCE 1
#define WOUT_NEWGEN skip
#endif
#ifdef CONTINUE
/* ---------------------------------------------- going on alone (CONTINUE) */
/* on_peer_loss = continue: an owner whose writes wait for a replica it
 * does not hear asks the witness to fence that replica (OUTDATE) and,
 * granted, acknowledges its writes alone; here whenever a write pends (a
 * superset of "its replica is away").  dccd asks only while not paired:
 * one that was paired stops hearing its replica in the same step (a link
 * loss it sees, as MAXLINK's, without spending it), so that the owner is
 * away from its replica in checks without link losses too (and may be
 * paired again before the grant).  MUTANT_NOFENCE: it goes on alone
 * without asking. */
#if NR > 1
#define PEND_ANY(s) (pend[IX(s, 0)] || pend[IX(s, 1)])
#else
#define PEND_ANY(s) (pend[IX(s, 0)])
#endif
#define G_OUTDATE(s) (env && outs > 0 && role[s] == OWNER && !alone[s] && !BUSY(s) && \
	sb[s] == 0 && PEND_ANY(s) && !WINBAG(W_OUTDATE, s))
inline outdate(s) {
	outs--;
	if
	:: ho[s] == Paired ->
		printf("MSC: site %d no longer hears its replica\n", s);
		forget_link(s)
	:: else -> skip
	fi;
#ifdef MUTANT_NOFENCE
	alone[s] = 1;
	printf("MSC: site %d goes on alone (no fence)\n", s)
#else
	printf("MSC: site %d OUTDATE gen %d\n", s, gen[s]);
	wbag_put(WENC(W_OUTDATE, s, gen[s]))
#endif
}
/* alone: a pending write is acknowledged without the replica (if the
 * owner still holds a lease, else it fails) */
#define G_ACK_ALONE(s, r) (pend[IX(s, r)] && alone[s] && role[s] == OWNER && !BUSY(s))
/* paired again: writes wait for the replica again (the regions written
 * alone are dirty and are pushed) */
#define G_REJOIN(s) (alone[s] && ho[s] == Paired && !BUSY(s) REJOIN_CLEARED(s))
/* the replica holds everything the owner acknowledged and they are
 * paired: the owner lifts the fence with its epoch.  SYNCED: nothing
 * dirty at the owner, nothing missing at the replica.  dccd asks less
 * (Daemon::caught_up): presync is empty (every region dirty when going
 * alone ended was pushed since, by a push that read it after that) and
 * nothing is missing at the replica; regions written since may be dirty,
 * their writes having waited for the replica.  MUTANT_EARLY_CLEAR: at
 * any moment. */
#define SYNCED(s) (!DIRTY_ANY(s) && ALL_VALID(PEER(s)))
/* (k): site p holds the latest acknowledged write of every region */
#if NR > 1
#define HOLDS_ALL(p) (valid[IX(p, 0)] && cur[IX(p, 0)] && valid[IX(p, 1)] && cur[IX(p, 1)])
#else
#define HOLDS_ALL(p) (valid[IX(p, 0)] && cur[IX(p, 0)])
#endif
#ifdef MUTANT_EARLY_CLEAR
#define CAUGHT_UP(s) 1
#else
#define CAUGHT_UP(s) (!PRE_ANY(s) && ALL_VALID(PEER(s)))
#endif
#define G_UPTODATE(s) (oep[s] != 0 && !alone[s] && role[s] == OWNER && ho[s] == Paired && \
	!BUSY(s) && CAUGHT_UP(s) && !WINBAG(W_UPTODATE, s))
/* dccd sends it again every second until the witness answers: the model
 * keeps the epoch until the answer (taken at once, see wdeliver()) and
 * sends again once no UPTODATE of this site is in flight (lost, or the
 * link was full) */
inline uptodate(s) {
	printf("MSC: site %d UPTODATE gen %d epoch %d\n", s, gen[s], oep[s]);
	wbag_put(WENC(W_UPTODATE, s, gen[s]) | (oep[s] << 8))
}
/* the witness's answer to an UPTODATE of gen from s, taken at once by the
 * owner of gen that sent it (its epoch is still the one it holds: an
 * answer to an UPTODATE of an earlier epoch, or to a dccd that restarted,
 * is not its own): lifted or refused, that UPTODATE is done */
#define UPTODATE_ANSWERED(w) \
	if \
	:: role[WSITE(w)] == OWNER && gen[WSITE(w)] == WGENOF(w) && oep[WSITE(w)] == WEPOF(w) -> \
		oep[WSITE(w)] = 0 \
	:: else -> skip \
	fi
/* FIX_LEARN: every answer of the witness about the owner's own record
 * states the record's fence (its epoch, or 0); the model has it on the
 * RENEW that was granted (the renewal is the answer that always comes
 * again).  Not alone, the owner takes it; alone, the newer of its own and
 * the stated one (its own grant stands: only its UPTODATE, not sent while
 * alone, lifts it). */
#define WFENCE (wout -> wep : 0)
#ifdef FIX_LEARN
#define LEARN(s) \
	if \
	:: alone[s] && oep[s] >= WFENCE -> skip \
	:: else -> oep[s] = WFENCE \
	fi
#else
#define LEARN(s) skip
#endif
#endif

/* ------------------------------------------------------- the witness */

inline wdeliver(i) {
	tmp = wbag[i];
	wbag_del(i);
	if
	:: WTYPE(tmp) == W_RENEW ->
		printf("MSC:   RENEW(gen %d site %d) -> witness (record gen %d site %d)\n", WGENOF(tmp), WSITE(tmp), WGEN, WOWN);
		if
		:: WGENOF(tmp) == WGEN && WSITE(tmp) == WOWN &&
		   role[WSITE(tmp)] == OWNER && gen[WSITE(tmp)] == WGENOF(tmp) ->
			wl[WSITE(tmp)] = 1      /* granted, and the grant taken at once */
#ifdef CONTINUE
			; LEARN(WSITE(tmp))     /* FIX_LEARN: and the fence it states */
#endif
#ifndef NO_FIX_NEWER
		/* a generation above the record (a handover, a force):
		 * recorded, then granted */
		:: WGENOF(tmp) > WGEN &&
		   role[WSITE(tmp)] == OWNER && gen[WSITE(tmp)] == WGENOF(tmp) ->
			WGEN = WGENOF(tmp); WOWN = WSITE(tmp);
			WOUT_NEWGEN;
			wl[WSITE(tmp)] = 1
#ifdef CONTINUE
			; LEARN(WSITE(tmp))     /* 0: a new record has no fence */
#endif
#endif
		:: else -> skip         /* refused, or the owner would not take it */
		fi
	:: WTYPE(tmp) == W_CLAIM ->
		printf("MSC:   CLAIM(gen %d site %d) -> witness (record gen %d site %d)\n", WGENOF(tmp), WSITE(tmp), WGEN, WOWN);
		if
		:: !wl[0] && !wl[1] && CLAIM_FENCE && (WGEN + 1 == WGENOF(tmp) && WOWN != WSITE(tmp)
#ifdef FIX_RECLAIM
		              || WGEN == WGENOF(tmp) && WOWN == WSITE(tmp)
#endif
		             ) ->
			WOUT_NEWGEN;
			WGEN = WGENOF(tmp); WOWN = WSITE(tmp);   /* MUTANT_TWICE: in memory only */
			wbag_put(WENC(W_CLAIMED, WSITE(tmp), WGENOF(tmp)))
		:: else -> skip         /* refused */
		fi
	:: WTYPE(tmp) == W_CLAIMED ->
		printf("MSC:   CLAIMED(gen %d) -> site %d\n", WGENOF(tmp), WSITE(tmp));
		claimed(WSITE(tmp), WGENOF(tmp))
#ifdef CONTINUE
	/* OUTDATE gen site: granted iff the record is (gen, site): the replica
	 * of gen is outdated, a new epoch; the grant is taken at once by an
	 * owner of gen (a restarted one too: the fence stands either way).
	 * It takes the epoch, but goes alone only if it is not paired again
	 * by then (core::GoingAlone::answered: alone = may && !paired): paired,
	 * its writes wait for the replica, and its UPTODATE lifts the fence */
	:: WTYPE(tmp) == W_OUTDATE ->
		printf("MSC:   OUTDATE(gen %d site %d) -> witness (record gen %d site %d out %d)\n",
		       WGENOF(tmp), WSITE(tmp), WGEN, WOWN, wout);
		if
		:: WGENOF(tmp) == WGEN && WSITE(tmp) == WOWN ->
			wep++; wout = 1;
			if
			:: role[WSITE(tmp)] == OWNER && gen[WSITE(tmp)] == WGENOF(tmp) ->
				oep[WSITE(tmp)] = wep;
				if
				:: ho[WSITE(tmp)] != Paired -> alone[WSITE(tmp)] = 1
				:: else -> printf("MSC: site %d is paired: not alone\n", WSITE(tmp))
				fi
			:: else -> skip
			fi
		:: else -> skip
		fi
	/* UPTODATE gen site epoch: the replica holds what the owner wrote
	 * alone; cleared iff the record is still (gen, site) and (FIX_EPOCH)
	 * the epoch is the last OUTDATE's */
	:: WTYPE(tmp) == W_UPTODATE ->
		printf("MSC:   UPTODATE(gen %d site %d epoch %d) -> witness (record gen %d site %d out %d epoch %d)\n",
		       WGENOF(tmp), WSITE(tmp), WEPOF(tmp), WGEN, WOWN, wout, wep);
		if
		:: WGENOF(tmp) == WGEN && WSITE(tmp) == WOWN && EPOCH_OK(tmp) ->
			/* (k) a fence is lifted only while the replica holds every
			 * acknowledged write, unless forced */
			assert(!wout || forced || HOLDS_ALL(PEER(WSITE(tmp))));
			wout = 0
		:: else -> skip
		fi;
		UPTODATE_ANSWERED(tmp)
#endif
	:: else -> skip
	fi;
	tmp = 0
}
#define G_WDELIVER(i) (wbag[i] != 0 && (WTYPE(wbag[i]) != W_CLAIMED || !BUSY(WSITE(wbag[i]))))
/* a witness link loses a message (a cut link loses every one) */
#define G_WLOSE(i) (env && wbag[i] != 0)
/* a power cut of the witness: the record is what it persisted; every lease
 * counts as held for a full period, which the lease order already says */
#define G_WCRASH (env && wcrashes > 0)
inline wcrash() {
	wcrashes--;
#ifdef MUTANT_TWICE
	wvgen = wgen; wvown = wown;
#endif
	printf("MSC: witness CRASH (record gen %d site %d)\n", wgen, wown)
}
#ifdef MUTANT_TWICE
/* the mutant answers a CLAIM first and persists the record afterwards */
#define G_WPERSIST (wgen != wvgen || wown != wvown)
#endif
#endif

/* ------------------------------------------------------ the main loop */
#define E_WRITE            1
#define E_OVERWRITE        2
#define E_PUSH             3
#define E_FETCH            4
#define E_FILL_TIMEOUT     5
#define E_MIGRATE          6
#define E_SEND_HANDOVER    7
#define E_HANDOVER_TIMEOUT 8
#define E_TAKE_PERSIST     9
#define E_TAKE_ACK         10
#define E_ATTACH           11
#define E_HELLO            12
#define E_CRASH            13
#define E_LINKDOWN         14
#define E_DELIVER          15
#define E_LOSE             16
#define E_DUP              17
#define E_STOP             18
#define E_CLEAR            35
#if MAXREREG > 0
#define E_REREG            38
#endif
#ifdef SYNC
#define E_SYNC_SEND        36
#define E_SYNC_RESEND      37
#endif
#ifdef FAILOVER
#define E_PING             19
#define E_RENEW            20
#define E_PL_END           21
#define E_WL_END           22
#define E_FAILOVER         26
#define E_CLAIM            27
#define E_FO_GIVEUP        28
#define E_FORCE            29
#define E_RESOLVE          30
#define E_WDELIVER         31
#define E_WLOSE            32
#define E_WCRASH           33
#define E_WPERSIST         34
#ifdef CONTINUE
#define E_OUTDATE          39
#define E_ACK_ALONE        40
#define E_REJOIN           41
#define E_UPTODATE         42
#endif
#ifdef LAG
#define E_PROGRESS         43
#endif
#define E_CONFIRM          44
#ifdef MUTANT_AHEAD_LATE
#define E_AHEAD_PERSIST    45
#endif
#ifdef MUTANT_FLAG_LATE
#define E_FLAG_SET         46
#endif
#define FO_SITE_EVENTS(s) \
	ON(G_PING(s), E_PING, s, 0) \
	ON(G_RENEW(s), E_RENEW, s, 0) \
	ON(G_PL_END(s), E_PL_END, s, 0) \
	ON(G_WL_END(s), E_WL_END, s, 0) \
	ON(G_FAILOVER(s), E_FAILOVER, s, 0) \
	ON(G_CLAIM(s), E_CLAIM, s, 0) \
	ON(G_FO_GIVEUP(s), E_FO_GIVEUP, s, 0) \
	ON(G_FORCE(s), E_FORCE, s, 0) \
	ON(G_RESOLVE(s), E_RESOLVE, s, 0) \
	CONTINUE_EVENTS(s) \
	LAG_EVENTS(s) \
	AHEAD_EVENTS(s) \
	FLAG_EVENTS(s)
#ifdef MUTANT_FLAG_LATE
#define FLAG_EVENTS(s) ON(FLAG_LATE(s), E_FLAG_SET, s, 0)
#else
#define FLAG_EVENTS(s)
#endif
#ifdef MUTANT_AHEAD_LATE
/* the mutant persists the AHEAD flag after the write it was set for */
#define AHEAD_EVENTS(s) ON(ahv[s] && !ahd[s], E_AHEAD_PERSIST, s, 0)
#else
#define AHEAD_EVENTS(s)
#endif
#ifdef LAG
#define LAG_EVENTS(s) ON(G_PROGRESS(s), E_PROGRESS, s, 0)
#else
#define LAG_EVENTS(s)
#endif
#ifdef CONTINUE
#define CONTINUE_EVENTS(s) \
	ON(G_OUTDATE(s), E_OUTDATE, s, 0) \
	ON(G_REJOIN(s), E_REJOIN, s, 0) \
	ON(G_UPTODATE(s), E_UPTODATE, s, 0)
#else
#define CONTINUE_EVENTS(s)
#endif
#define WLINK_EVENTS(i) \
	ON(G_WDELIVER(i), E_WDELIVER, i, 0) \
	ON(G_WLOSE(i), E_WLOSE, i, 0)
#endif

#define ON(g, e, s, r) :: g -> ev = e; es = s; er = r
#define REGION_EVENTS(s, r) \
	ON(G_WRITE(s, r), E_WRITE, s, r) \
	ON(G_OVERWRITE(s, r), E_OVERWRITE, s, r) \
	ON(G_PUSH(s, r), E_PUSH, s, r) \
	ON(G_CLEAR(s, r), E_CLEAR, s, r) \
	ON(G_FETCH(s, r), E_FETCH, s, r) \
	ON(G_FILL_TIMEOUT(s, r), E_FILL_TIMEOUT, s, r) \
	SYNC_REGION_EVENTS(s, r)
#ifdef SYNC
#ifdef CONTINUE
#define SYNC_REGION_EVENTS(s, r) \
	ON(G_SYNC_SEND(s, r), E_SYNC_SEND, s, r) \
	ON(G_SYNC_RESEND(s, r), E_SYNC_RESEND, s, r) \
	ON(G_ACK_ALONE(s, r), E_ACK_ALONE, s, r) \
	CONFIRM_EVENT(s, r)
#else
#define SYNC_REGION_EVENTS(s, r) \
	ON(G_SYNC_SEND(s, r), E_SYNC_SEND, s, r) \
	ON(G_SYNC_RESEND(s, r), E_SYNC_RESEND, s, r) \
	CONFIRM_EVENT(s, r)
#endif
#else
#define SYNC_REGION_EVENTS(s, r)
#endif
#define SITE_EVENTS(s) \
	ON(G_MIGRATE(s), E_MIGRATE, s, 0) \
	ON(G_SEND_HANDOVER(s), E_SEND_HANDOVER, s, 0) \
	ON(G_HANDOVER_TIMEOUT(s), E_HANDOVER_TIMEOUT, s, 0) \
	ON(G_TAKE_PERSIST(s), E_TAKE_PERSIST, s, 0) \
	ON(G_TAKE_ACK(s), E_TAKE_ACK, s, 0) \
	ON(G_ATTACH(s), E_ATTACH, s, 0) \
	ON(G_HELLO(s), E_HELLO, s, 0) \
	ON(G_CRASH(s), E_CRASH, s, 0) \
	ON(G_TORN(s), E_CRASH, s, 1) \
	ON(G_LINKDOWN(s), E_LINKDOWN, s, 0) \
	REREG_EVENT(s)
#define LINK_EVENTS(i) \
	ON(G_DELIVER(i), E_DELIVER, i, 0) \
	:: G_BURN(i) -> ev = E_DELIVER; es = i; burn = 1 \
	ON(G_LOSE(i), E_LOSE, i, 0) \
	ON(G_DUP(i), E_DUP, i, 0)

/* (e) quiescence: the environment stopped, nothing more can happen */
#define ONE_OWNER \
	((role[0] == OWNER && role[1] == REPLICA) || (role[0] == REPLICA && role[1] == OWNER)) && \
	gen[0] == gen[1] && ho[0] == Paired && ho[1] == Paired
#ifdef FAILOVER
/* ... or both sites report a split brain */
/* ... or both sites report a split brain, one the older site (which
 * resolve --discard-local ends) and one the newer */
#define SAME_AT_BOTH(r) (!(valid[IX(0, r)] && valid[IX(1, r)] && !dirty[IX(0, r)] && \
	!dirty[IX(1, r)]) || cur[IX(0, r)] == cur[IX(1, r)])
#define BOTH_REPORT ((sb[0] == SB_OLD && sb[1] == SB_NEW) || (sb[0] == SB_NEW && sb[1] == SB_OLD))
#ifdef CONTINUE
#define OWNER_SITE (role[0] == OWNER -> 0 : 1)
#endif
#endif

active proctype world() {
	d_step {
		role[0] = OWNER; role[1] = REPLICA;
		gen[0] = 1; gen[1] = 1;
		valid[IX(0, 0)] = 1; valid[IX(1, 0)] = 1; cur[IX(0, 0)] = 1; cur[IX(1, 0)] = 1;
#if NR > 1
		valid[IX(0, 1)] = 1; valid[IX(1, 1)] = 1; cur[IX(0, 1)] = 1; cur[IX(1, 1)] = 1;
#endif
		inc[0] = 1; inc[1] = 1; peerinc[0] = 1; peerinc[1] = 1;
		ho[0] = Paired; ho[1] = Paired
#ifdef MUTANT_FLAG_LATE
		; kflag[0] = 1       /* the first owner's dccd told its kernel */
#endif
#ifdef FIX_PROG_PAIRING
		/* paired on a statement the owner sent before any other request */
		; pfl[1] = 1
#endif
#ifdef SINCE_UNPAIRED
		; wpd[0] = 1; wpd[1] = 1
#endif
	}
	do
	/* choose an event (a choice point), run it, then put the state in
	 * canonical form and check it: in a depth-first search the states in
	 * between are not stored (a breadth-first one stores them: a step is
	 * three transitions deep).  The canonical form is a d_step of its own
	 * because spin caps the jumps in one d_step (2048 in 6.5.2), which
	 * one d_step for both overran with NR = 2 in SYNC, and with the AHEAD
	 * mutants */
	:: atomic {
		if
		REGION_EVENTS(0, 0)
		REGION_EVENTS(1, 0)
#if NR > 1
		REGION_EVENTS(0, 1)
		REGION_EVENTS(1, 1)
#endif
		SITE_EVENTS(0)
		SITE_EVENTS(1)
		LINK_EVENTS(0)
		LINK_EVENTS(1)
		LINK_EVENTS(2)
#if K > 3
		LINK_EVENTS(3)
#endif
#ifdef FAILOVER
		FO_SITE_EVENTS(0)
		FO_SITE_EVENTS(1)
		WLINK_EVENTS(0)
		WLINK_EVENTS(1)
		ON(G_WCRASH, E_WCRASH, 0, 0)
#ifdef MUTANT_TWICE
		ON(G_WPERSIST, E_WPERSIST, 0, 0)
#endif
#endif
#ifdef END_CHECK
		:: env -> ev = E_STOP
#endif
		fi;
		d_step {
			if
			:: ev == E_WRITE -> write(es, er)
			:: ev == E_OVERWRITE -> overwrite(es, er)
			:: ev == E_PUSH -> push(es, er)
			:: ev == E_CLEAR -> clear_pushed(es, er)
#ifdef CONFIRM
			:: ev == E_CONFIRM -> confirm(es, er)
#endif
			:: ev == E_FETCH -> fetch(es, er)
			:: ev == E_FILL_TIMEOUT -> fill_timeout(es, er)
			:: ev == E_MIGRATE -> migrate(es)
			:: ev == E_SEND_HANDOVER -> send_handover(es)
			:: ev == E_HANDOVER_TIMEOUT -> handover_timeout(es)
			:: ev == E_TAKE_PERSIST -> take_persist(es)
			:: ev == E_TAKE_ACK -> take_ack(es)
			:: ev == E_ATTACH -> attach(es)
			:: ev == E_HELLO -> hello(es)
			:: ev == E_CRASH ->
				/* er = 1: inside a commit (G_TORN), its bitmaps written */
				if :: er == 1 -> torn_bits(es) :: else -> skip fi;
				crash(es)
			:: ev == E_LINKDOWN -> linkdown(es)
			:: ev == E_DELIVER -> deliver(es)
			:: ev == E_LOSE ->
				losses--; decode(bag[es]); print_msg(0, 1); clear_decoded(); bag_del(es)
			:: ev == E_DUP ->
				dups--; decode(bag[es]); print_msg(0, 2); clear_decoded(); outbox = bag[es]
			:: ev == E_STOP -> env = 0
#if MAXREREG > 0
			:: ev == E_REREG -> rereg(es)
#endif
#ifdef FAILOVER
			:: ev == E_PING -> ping(es)
			:: ev == E_RENEW -> renew(es)
			:: ev == E_PL_END -> pl[es] = 0; printf("MSC: site %d peer lease ends\n", es)
			:: ev == E_WL_END -> wl[es] = 0; printf("MSC: site %d witness lease ends\n", es)
			:: ev == E_FAILOVER -> failover(es)
			:: ev == E_CLAIM -> claim(es)
			:: ev == E_FO_GIVEUP -> fo_giveup(es)
			:: ev == E_FORCE -> force(es)
			:: ev == E_RESOLVE -> resolve(es)
			:: ev == E_WDELIVER -> wdeliver(es)
			:: ev == E_WLOSE -> printf("MSC:   witness link loses %d\n", wbag[es]); wbag_del(es)
			:: ev == E_WCRASH -> wcrash()
#ifdef SYNC
			:: ev == E_SYNC_SEND -> sync_send(es, er)
			:: ev == E_SYNC_RESEND -> sync_resend(es, er)
#endif
#ifdef CONTINUE
			:: ev == E_OUTDATE -> outdate(es)
			:: ev == E_ACK_ALONE -> ack_alone(es, er)
			:: ev == E_REJOIN -> alone[es] = 0; PRESNAP(es); printf("MSC: site %d paired again: writes wait for the replica\n", es)
			:: ev == E_UPTODATE -> uptodate(es)
#endif
#ifdef LAG
			:: ev == E_PROGRESS -> progress(es)
#endif
#ifdef MUTANT_AHEAD_LATE
			:: ev == E_AHEAD_PERSIST -> ahd[es] = 1; printf("MSC: site %d persists AHEAD\n", es)
#endif
#ifdef MUTANT_FLAG_LATE
			:: ev == E_FLAG_SET -> kflag[es] = 1; printf("MSC: site %d sets its kernel's lease flag\n", es)
#endif
#ifdef MUTANT_TWICE
			:: ev == E_WPERSIST -> wgen = wvgen; wown = wvown; printf("MSC: witness persists gen %d site %d\n", wgen, wown)
#endif
#endif
			fi;
			ev = 0; es = 0; er = 0; burn = 0
		};
		d_step { check() }
	   }
#ifdef CONTINUE
	:: timeout && !(tail > 0 && (ATTACH_GUARD(0) || ATTACH_GUARD(1))) && !TAIL_RENEW(0) && !TAIL_RENEW(1) -> break
#else
	:: timeout && !(tail > 0 && (ATTACH_GUARD(0) || ATTACH_GUARD(1))) -> break
#endif
	od;
	/* (e) once the environment stopped (no more faults, writes or
	 * migrates), every state where nothing more can happen has exactly one
	 * owner and one replica of the same generation, both paired */
	printf("MSC: quiescent: roles %d %d gens %d %d ho %d %d\n", role[0], role[1], gen[0], gen[1], ho[0], ho[1]);
#ifdef FAILOVER
	/* (e) one owner, or a split brain both sites report; (g) every
	 * divergence is reported by both */
	assert(ONE_OWNER || BOTH_REPORT);
	assert(!(late[0] || late[1]) || BOTH_REPORT);
	/* (l) paired at the end, the copies are equal: a region valid and
	 * clean at both holds the latest write at both or at neither (what a
	 * force lost is lost at both, never kept at one site alone) */
	assert(!(ONE_OWNER) || SAME_AT_BOTH(0) && SAME_AT_BOTH(NR - 1))
#ifdef CONTINUE
	;
	/* (j) paired, the replica holding everything the owner acknowledged,
	 * nothing forced: no fence stands for the owner's generation, so the
	 * replica could fail over again.  No witness message is lost after the
	 * stop, and what the owner needs to send it sends: its UPTODATE until
	 * answered, its RENEW once more if it holds no lease (see G_RENEW) */
	printf("MSC: fence: record gen %d site %d out %d epoch %d; owner epochs %d %d\n",
	       WGEN, WOWN, wout, wep, oep[0], oep[1]);
	assert(!((ONE_OWNER) && !forced && SYNCED(OWNER_SITE)) || !wout || WGEN != gen[OWNER_SITE])
#endif
#else
	assert(ONE_OWNER)
#endif
}

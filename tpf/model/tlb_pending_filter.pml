/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * Promela model of the TLB pending filter's protocol (mm/tlb_pending_filter.c).
 *
 * NDEFER deferrers each run ROUNDS operations: under an address's page
 * table lock, change its PTE, register (the first mark of an operation
 * does, after the PTE write, as in the code) and mark it (extend the span
 * [lo, hi) over it, then set its bucket, each with a test before the set;
 * lo and hi each by a load, then, if it does not cover the address yet, an
 * atomic min/max that re-checks, as the cmpxchg loops do), drop the lock,
 * complete the flush, unregister (the last one out resets the buckets and
 * empties the span, lo = EMPTY and hi = 0: three separate stores before
 * the release of CLEARING).  NFAULT faulters take an address's page-table
 * lock, load the buckets, lo and hi as three separate steps, in any order,
 * and flush iff the address's bit is set and lo <= a < hi, or else decide
 * that no flush is needed.
 *
 * Safety property (the filter's invariant): when a faulter decides "no
 * flush" for address a under a's lock, no stale TLB entry can exist for a,
 * i.e. every deferrer that changed a's PTE has completed its flush.
 *
 * Why three separate loads are enough: take a deferrer D whose flush of a
 * is still pending when the faulter decides.  D marked a before its unlock
 * of a's lock, the faulter loads after its lock of it, and between two
 * resets bits are only set, lo only lowered and hi only raised.  So each
 * of the three values the faulter reads either covers every mark made
 * before it took the lock, D's included, or was written by a reset (or by
 * marks after one); a reset needs D unregistered, so it can only happen
 * after D's flush has completed, which contradicts the choice of D.  Hence
 * all three cover a, whatever the order of the loads and whatever lands
 * between them: the model lets resets and new marks interleave with each
 * load, in all six load orders.
 *
 * Three addresses on two page tables; addresses 0 and 2 share bucket 0, so
 * aliasing is covered, and the span is what tells them apart: with only 2
 * marked, a faulter on 0 finds its bit set but 0 below lo, and does not
 * flush (a reachable state; checked once with a temporary assertion).
 * Spin explores interleavings under sequential consistency: the model
 * checks the protocol's logic (registration, the "last one out" decision,
 * the reset, the skip of already-set buckets and already-covering bounds);
 * the memory-ordering argument that maps it onto the LKMM is written next
 * to the code.
 *
 * Bounds: NDEFER=3, ROUNDS=2, NFAULT=1 by default, a full search of about
 * 14 million states (half a minute with COLLAPSE).  One faulter
 * loses nothing: a faulter writes nothing shared but its page-table lock,
 * which only ever holds others back, so deleting a second faulter's steps
 * from a trace that violates the assertion leaves a valid trace with the
 * same violation.  With NFAULT=2 the span takes the search past 100
 * million states and 5 GB.
 *
 * Mutants, each of which must be rejected with a counterexample:
 *   -DMUTANT_RESET_BEFORE_FLUSH  unregister (and maybe reset) before the
 *                                flush has completed (trap 1)
 *   -DMUTANT_SPLIT_LAST          "am I the last?" decided by a decrement,
 *                                the reset done after it, with no CLEARING
 *                                state for registrants to wait on (trap 2)
 *   -DMUTANT_SPAN_AFTER_UNLOCK   the span extended after the unlock of the
 *                                page-table lock (the bucket still set
 *                                under it): a faulter can see the bucket
 *                                but not the span
 */

#ifndef NDEFER
#define NDEFER	3
#endif
#ifndef NFAULT
#define NFAULT	1
#endif
#ifndef ROUNDS
#define ROUNDS	2
#endif

#define NADDR	3
#define EMPTY	NADDR	/* lo of the empty span (ULONG_MAX in C) */

/* Page table and bucket of each address. */
#define PT(a)		((a) == 2 -> 1 : 0)
#define BIT(a)		((a) == 1 -> 2 : 1)

byte buckets;		/* the filter word: bit 0 and bit 1 */
byte lo = EMPTY;	/* the span [lo, hi) of the marked addresses */
byte hi;
byte users;		/* registered deferrers */
bool clearing;		/* TLB_PENDING_FILTER_CLEARING */
bool ptl[2];		/* page-table locks */
byte stale[NADDR];	/* deferrers whose flush of the address is pending */

inline lock(l)
{
	atomic { !l -> l = true }
}

inline unlock(l)
{
	l = false
}

/* tlb_pending_filter_register(): wait out a reset, then count in. */
inline register()
{
	atomic { !clearing -> users++ }
}

/* tlb_pending_filter_unregister(): one cmpxchg decides and claims. */
inline unregister(me_last)
{
#ifdef MUTANT_SPLIT_LAST
	atomic { users--; me_last = (users == 0) }
#else
	atomic {
		if
		:: users == 1 -> users = 0; clearing = true; me_last = true
		:: users > 1 -> users--; me_last = false
		fi
	}
#endif
	if
	:: me_last ->
		buckets = 0;		/* tlb_pending_filter_reset() */
		lo = EMPTY;
		hi = 0;
		clearing = false	/* atomic_set_release(users, 0) */
	:: else -> skip
	fi;
	me_last = false
}

/*
 * tlb_pending_filter_extend(), lowering lo or raising hi: a load (test
 * before set), then, if the bound does not cover a yet, the cmpxchg loop,
 * i.e. one atomic min (max) that re-checks the bound it writes.
 */
inline extend_span(a)
{
	if
	:: lo > a ->			/* the guard is the plain load */
		atomic { if :: lo > a -> lo = a :: else -> skip fi }
	:: else -> skip
	fi;
	if
	:: hi < a + 1 ->
		atomic { if :: hi < a + 1 -> hi = a + 1 :: else -> skip fi }
	:: else -> skip
	fi
}

proctype deferrer()
{
	byte a, seen, round = 0;
	bool me_last;

	do
	:: round < ROUNDS ->
		if
		:: a = 0
		:: a = 1
		:: a = 2
		fi;
		lock(ptl[PT(a)]);
		stale[a]++;			/* PTE loses a permission */
		/*
		 * tlb_mark_deferred_range(): the first mark registers, under
		 * the PTL and after the PTE write, as change_pte_range() does.
		 */
		register();
#ifndef MUTANT_SPAN_AFTER_UNLOCK
		extend_span(a);
#endif
		seen = buckets;			/* test before set */
		if
		:: (seen & BIT(a)) != BIT(a) -> buckets = buckets | BIT(a)
		:: else -> skip
		fi;
		seen = 0;
		unlock(ptl[PT(a)]);
#ifdef MUTANT_SPAN_AFTER_UNLOCK
		extend_span(a);
#endif
#ifdef MUTANT_RESET_BEFORE_FLUSH
		unregister(me_last);
		stale[a]--;			/* flush completes, too late */
#else
		stale[a]--;			/* flush completes */
		unregister(me_last);
#endif
		a = 0;
		round++
	:: else -> break
	od
}

proctype faulter()
{
	byte a, loaded;
	bool miss;

	do
	:: if
	   :: a = 0
	   :: a = 1
	   :: a = 2
	   fi;
	   lock(ptl[PT(a)]);
	   /*
	    * tlb_pending_filter_test(): three loads, one step each, in any
	    * order, with any steps of the deferrers in between.  Rather than
	    * keep the three values, each load folds its comparison into miss
	    * (same decision, fewer states).
	    */
	   do
	   :: atomic { !(loaded & 1) -> loaded = loaded | 1;
			miss = miss || (buckets & BIT(a)) == 0 }
	   :: atomic { !(loaded & 2) -> loaded = loaded | 2;
			miss = miss || lo > a }
	   :: atomic { !(loaded & 4) -> loaded = loaded | 4;
			miss = miss || hi <= a }
	   :: loaded == 7 -> break
	   od;
	   if
	   :: !miss -> skip	/* flush_tlb_page() */
	   :: else ->
		/* "No flush needed": no stale entry may exist. */
		assert(stale[a] == 0)
	   fi;
	   unlock(ptl[PT(a)]);
	   a = 0; miss = false; loaded = 0
	:: break
	od
}

init
{
	byte i;

	atomic {
		for (i : 1 .. NDEFER) {
			run deferrer()
		}
		for (i : 1 .. NFAULT) {
			run faulter()
		}
	}
}

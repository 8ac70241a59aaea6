/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * Promela model of the TLB pending filter's protocol with SLOTS
 * independent copies of the filter, as mm/tlb_pending_filter.c has them
 * (TLB_PENDING_FILTER_SLOTS, two).
 *
 * Each slot is a whole filter of tlb_pending_filter.pml: buckets, the span
 * [lo, hi), users and CLEARING, with the same protocol per slot.  NDEFER
 * deferrers each run ROUNDS operations: under an address's page table
 * lock, change its PTE, register (the first mark of an operation does,
 * after the PTE write, as in the code) and so pick the operation's slot,
 * mark it in that slot only (extend the slot's span over it, then set its
 * bucket, each with a test before the set; lo and hi each by a load, then,
 * if it does not cover the address yet, an atomic min/max that re-checks,
 * as the cmpxchg loops do), drop the lock, complete the flush, unregister
 * from that slot only (the last one out of the slot resets that slot: its
 * buckets and span, three separate stores before the release of CLEARING).
 *
 * Registration: try the slots in order and claim the first one whose users
 * is 0 by one cmpxchg of users from 0 to 1 (a slot with users > 0 or with
 * CLEARING set fails it and is skipped, never waited on); if none was
 * claimed, fall back to a fixed slot (by CPU number in C; here any slot,
 * chosen nondeterministically, which covers every CPU) and register there
 * as the single filter does: wait out CLEARING, then users++.
 *
 * NFAULT faulters take an address's page-table lock, load the buckets, lo
 * and hi of every slot as 3 * SLOTS separate steps, in any order, and flush
 * iff some slot has the address's bit set and lo <= a < hi, or else decide
 * that no flush is needed.
 *
 * Safety property (the filter's invariant): when a faulter decides "no
 * flush" for address a under a's lock, no stale TLB entry can exist for a,
 * i.e. every deferrer that changed a's PTE has completed its flush.
 *
 * Why it holds: take a deferrer D whose flush of a is still pending when
 * the faulter decides, registered in slot s.  D marked a in s before its
 * unlock of a's lock, and s is reset only by the last one out of s, which
 * cannot come before D unregisters from s, after its flush: within slot s
 * the argument of tlb_pending_filter.pml holds unchanged, so the three
 * loads of slot s all cover a, whatever the other slots hold, and the OR
 * says flush.  What the slots add is the claim: it must not let a
 * registrant into a slot between its "I am the last" and the end of its
 * reset (the cmpxchg from 0 fails while CLEARING is set), nor let two
 * claimants both believe they are alone (one cmpxchg, not a load and a
 * store), and every mark and the unregistration must go to the slot the
 * registration picked.
 *
 * Addresses, page tables and buckets as in tlb_pending_filter.pml: three
 * addresses on two page tables, 0 and 2 sharing bucket 0.  The point of
 * the slots is reachable (checked once with a temporary assertion): one
 * deferrer marks 0 in slot 0 and flushes, another claims slot 1 and marks
 * 2, the first leaves slot 0 and resets it; a faulter on 0 finds slot 0
 * empty and, in slot 1, its bucket set (by 2) but 0 below lo, and does not
 * flush, where the single filter, kept by the second deferrer, would still
 * hold 0's bucket and the span [0, 3).  Spin explores interleavings under
 * sequential consistency; the memory-ordering argument is the one written
 * next to the code, per slot.
 *
 * Bounds: NDEFER=3, ROUNDS=1, NFAULT=1, SLOTS=2 by default, a full search
 * of about 42 million states (2.6 GB with COLLAPSE and -w27, 90 s).
 * Three deferrers on two slots reach the fallback: with both slots taken,
 * the third registers in one of them alongside its owner, or waits out the
 * reset of the one it falls back to.  ROUNDS=1, not 2 as in the single
 * filter's model: with two slots and six loads, ROUNDS=2 passed 409
 * million states and 17 GB unfinished.  Three operations still cover a
 * slot claimed, reset and claimed again while the other slot stays
 * registered, and the shared slot; what ROUNDS=2 adds is longer histories
 * of resets before a mark, which the per-slot argument above does not
 * depend on.  One faulter loses nothing, for the reason given in
 * tlb_pending_filter.pml.
 *
 * Mutants, each of which must be rejected with a counterexample:
 *   -DMUTANT_RESET_BEFORE_FLUSH  unregister (and maybe reset the slot)
 *                                before the flush has completed
 *   -DMUTANT_SPLIT_LAST          "am I the last of this slot?" decided by
 *                                a decrement, the reset done after it, with
 *                                no CLEARING state: neither a registrant
 *                                waits nor a claimant's cmpxchg fails
 *   -DMUTANT_SPAN_AFTER_UNLOCK   the slot's span extended after the unlock
 *                                of the page-table lock
 *   -DMUTANT_WRONG_SLOT          unregister from a slot other than the one
 *                                registered in, as a slot recomputed from
 *                                the CPU after a migration would (marking
 *                                the other slot instead is rejected too,
 *                                checked once)
 *   -DMUTANT_CLAIM_SPLIT         claim a free slot by a load of users == 0
 *                                and a separate store of 1, not a cmpxchg
 */

#ifndef NDEFER
#define NDEFER	3
#endif
#ifndef NFAULT
#define NFAULT	1
#endif
#ifndef ROUNDS
#define ROUNDS	1
#endif

#define SLOTS	2	/* the faulter's loads are written out for two */
#define NADDR	3
#define EMPTY	NADDR	/* lo of the empty span (ULONG_MAX in C) */

/* Page table and bucket of each address. */
#define PT(a)		((a) == 2 -> 1 : 0)
#define BIT(a)		((a) == 1 -> 2 : 1)

byte buckets[SLOTS];	/* each slot's filter word: bit 0 and bit 1 */
byte lo[SLOTS] = EMPTY;	/* each slot's span [lo, hi) */
byte hi[SLOTS];
byte users[SLOTS];	/* deferrers registered in the slot */
bool clearing[SLOTS];	/* the slot's TLB_PENDING_FILTER_CLEARING */
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

/*
 * Registration: claim the first free slot, in order, by one cmpxchg of
 * users from 0 to 1, which fails on a slot in use or being reset (users
 * holds CLEARING then); else fall back to any slot and register there as
 * tlb_pending_filter_register() does: wait out a reset, then count in.
 */
inline register(s)
{
	s = 0;
	do
#ifdef MUTANT_CLAIM_SPLIT
	:: s < SLOTS && users[s] == 0 && !clearing[s] ->	/* load */
		/* the store of 1 to the users word overwrites CLEARING */
		atomic { users[s] = 1; clearing[s] = false };
		break
#else
	:: atomic { s < SLOTS && users[s] == 0 && !clearing[s] ->
			users[s] = 1 };				/* cmpxchg */
		break
#endif
	:: atomic { s < SLOTS && (users[s] > 0 || clearing[s]) -> s++ }
	:: s == SLOTS ->
		if				/* the CPU's slot */
		:: s = 0
		:: s = 1
		fi;
		atomic { !clearing[s] -> users[s]++ };
		break
	od
}

/* Unregistration from slot s: one cmpxchg decides and claims the reset. */
inline unregister(s, me_last)
{
#ifdef MUTANT_SPLIT_LAST
	atomic { users[s]--; me_last = (users[s] == 0) }
#else
	atomic {
		if
		:: users[s] == 1 -> users[s] = 0; clearing[s] = true; me_last = true
		:: users[s] > 1 -> users[s]--; me_last = false
		fi
	}
#endif
	if
	:: me_last ->
		buckets[s] = 0;		/* tlb_pending_filter_reset() */
		lo[s] = EMPTY;
		hi[s] = 0;
#ifdef MUTANT_SPLIT_LAST
		skip			/* no CLEARING to release */
#else
		/*
		 * atomic_set_release(users, 0): users is already 0 unless
		 * a claim stored over CLEARING (MUTANT_CLAIM_SPLIT).
		 */
		atomic { users[s] = 0; clearing[s] = false }
#endif
	:: else -> skip
	fi;
	me_last = false
}

/*
 * tlb_pending_filter_extend() of slot s's lo and hi: a load (test before
 * set), then, if the bound does not cover a yet, the cmpxchg loop, i.e.
 * one atomic min (max) that re-checks the bound it writes.
 */
inline extend_span(s, a)
{
	if
	:: lo[s] > a ->			/* the guard is the plain load */
		atomic { if :: lo[s] > a -> lo[s] = a :: else -> skip fi }
	:: else -> skip
	fi;
	if
	:: hi[s] < a + 1 ->
		atomic { if :: hi[s] < a + 1 -> hi[s] = a + 1 :: else -> skip fi }
	:: else -> skip
	fi
}

proctype deferrer()
{
	byte a, seen, slot, round = 0;
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
		 * the PTL and after the PTE write, and picks the slot that
		 * this operation marks and unregisters from.
		 */
		register(slot);
#ifndef MUTANT_SPAN_AFTER_UNLOCK
		extend_span(slot, a);
#endif
		seen = buckets[slot];		/* test before set */
		if
		:: (seen & BIT(a)) != BIT(a) ->
			buckets[slot] = buckets[slot] | BIT(a)
		:: else -> skip
		fi;
		seen = 0;
		unlock(ptl[PT(a)]);
#ifdef MUTANT_SPAN_AFTER_UNLOCK
		extend_span(slot, a);
#endif
#ifdef MUTANT_WRONG_SLOT
		slot = (slot + 1) % SLOTS;	/* e.g. recomputed from the CPU */
#endif
#ifdef MUTANT_RESET_BEFORE_FLUSH
		unregister(slot, me_last);
		stale[a]--;			/* flush completes, too late */
#else
		stale[a]--;			/* flush completes */
		unregister(slot, me_last);
#endif
		a = 0;
		slot = 0;
		round++
	:: else -> break
	od
}

proctype faulter()
{
	byte a, loaded;
	bool miss0, miss1;

	do
	:: if
	   :: a = 0
	   :: a = 1
	   :: a = 2
	   fi;
	   lock(ptl[PT(a)]);
	   /*
	    * tlb_pending_filter_test() on each slot: 3 * SLOTS loads, one step
	    * each, in any order (each slot's three in any order, and the two
	    * slots' interleaved), with any steps of the deferrers in between.
	    * Each load folds its comparison into its slot's miss.
	    */
	   do
	   :: atomic { !(loaded & 1) -> loaded = loaded | 1;
			miss0 = miss0 || (buckets[0] & BIT(a)) == 0 }
	   :: atomic { !(loaded & 2) -> loaded = loaded | 2;
			miss0 = miss0 || lo[0] > a }
	   :: atomic { !(loaded & 4) -> loaded = loaded | 4;
			miss0 = miss0 || hi[0] <= a }
	   :: atomic { !(loaded & 8) -> loaded = loaded | 8;
			miss1 = miss1 || (buckets[1] & BIT(a)) == 0 }
	   :: atomic { !(loaded & 16) -> loaded = loaded | 16;
			miss1 = miss1 || lo[1] > a }
	   :: atomic { !(loaded & 32) -> loaded = loaded | 32;
			miss1 = miss1 || hi[1] <= a }
	   :: loaded == 63 -> break
	   od;
	   if
	   :: !miss0 || !miss1 -> skip	/* flush_tlb_page() */
	   :: else ->
		/* "No flush needed": no stale entry may exist. */
		assert(stale[a] == 0)
	   fi;
	   unlock(ptl[PT(a)]);
	   a = 0; miss0 = false; miss1 = false; loaded = 0
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

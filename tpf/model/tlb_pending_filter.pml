/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * Promela model of the TLB pending filter's protocol (mm/tlb_pending_filter.c).
 *
 * NDEFER deferrers each run ROUNDS operations: register, change the PTE of
 * an address under its page table's lock and mark its bucket, drop the
 * lock, complete the flush, unregister (the last one out resets the
 * buckets).  NFAULT faulters take an address's page-table lock, test its
 * bucket and either flush or decide that no flush is needed.
 *
 * Safety property (the filter's invariant): when a faulter decides "no
 * flush" for address a under a's lock, no stale TLB entry can exist for a,
 * i.e. every deferrer that changed a's PTE has completed its flush.
 *
 * Three addresses on two page tables; addresses 0 and 2 share bucket 0, so
 * aliasing is covered.  Spin explores interleavings under sequential
 * consistency: the model checks the protocol's logic (registration, the
 * "last one out" decision, the reset, the skip of already-set buckets);
 * the memory-ordering argument that maps it onto the LKMM is written next
 * to the code.
 *
 * Mutants, each of which must be rejected with a counterexample:
 *   -DMUTANT_RESET_BEFORE_FLUSH  unregister (and maybe reset) before the
 *                                flush has completed (trap 1)
 *   -DMUTANT_SPLIT_LAST          "am I the last?" decided by a decrement,
 *                                the reset done after it, with no CLEARING
 *                                state for registrants to wait on (trap 2)
 */

#ifndef NDEFER
#define NDEFER	3
#endif
#ifndef NFAULT
#define NFAULT	2
#endif
#ifndef ROUNDS
#define ROUNDS	2
#endif

#define NADDR	3

/* Page table and bucket of each address. */
#define PT(a)		((a) == 2 -> 1 : 0)
#define BIT(a)		((a) == 1 -> 2 : 1)

byte buckets;		/* the filter word: bit 0 and bit 1 */
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
		clearing = false	/* atomic_set_release(users, 0) */
	:: else -> skip
	fi;
	me_last = false
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
		register();
		lock(ptl[PT(a)]);
		stale[a]++;			/* PTE loses a permission */
		seen = buckets;			/* test before set */
		if
		:: (seen & BIT(a)) != BIT(a) -> buckets = buckets | BIT(a)
		:: else -> skip
		fi;
		seen = 0;
		unlock(ptl[PT(a)]);
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
	byte a;

	do
	:: if
	   :: a = 0
	   :: a = 1
	   :: a = 2
	   fi;
	   lock(ptl[PT(a)]);
	   if
	   :: (buckets & BIT(a)) != 0 -> skip	/* flush_tlb_page() */
	   :: else ->
		/* "No flush needed": no stale entry may exist. */
		assert(stale[a] == 0)
	   fi;
	   unlock(ptl[PT(a)]);
	   a = 0
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

// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-dcc: a device-mapper target that keeps one site's copy of a volume
 * coherent with the other site's.
 *
 * Bios to regions that are valid here go straight to the data device.  A
 * bio to a region that is not valid is deferred: the region is locked, the
 * daemon is told (generic netlink), it writes the region's data to the data
 * device itself and reports the fill; then the waiting bios run.  A write
 * that covers a whole invalid region needs no fill.  Which regions are valid
 * and which were written here (dirty) lives in a metadata device; see
 * dm-dcc-metadata.c for the crash-safety rules.
 *
 * Locking: dcc->lock (a spinlock, taken with interrupts off since bios
 * complete in interrupt context) protects the bitmaps' writers, the region
 * locks and the bio lists.  dcc->commit_mutex serialises metadata commits,
 * dcc->clear_mutex the CLEAR_DIRTY requests (and SET_ROLE's CLEAN, which
 * alone holds both).  The order is dcc_targets_mutex, then clear_mutex,
 * then commit_mutex, then lock.  Functions named __dcc_* need lock.
 */
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/wait_bit.h>

#include "dm-dcc.h"

/*
 * Serialises the list of resumed targets, which netlink looks volumes up
 * in, and the list of every constructed target, which keeps two targets
 * off each other's devices.
 */
static DEFINE_MUTEX(dcc_targets_mutex);
static LIST_HEAD(dcc_targets);		/* Protected by dcc_targets_mutex */
static LIST_HEAD(dcc_all_targets);	/* Protected by dcc_targets_mutex */

/* ------------------------------------------------------------------------ */
/* Write epochs                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Every write in flight is counted in one of two epochs.  Clearing a dirty
 * bit flips the epoch and waits for the old one to drain, so no write that
 * passed the dirty test before the clear can complete unseen after it.  The
 * re-check after the increment pairs with the flip in dcc_epoch_drain().
 */
static void dcc_epoch_enter(struct dcc *dcc, unsigned int *epoch)
{
	for (;;) {
		unsigned int e = READ_ONCE(dcc->epoch) & 1;

		atomic_inc(&dcc->inflight[e]);
		/* Count before re-reading the epoch; pairs with the drain's flip. */
		smp_mb__after_atomic();
		if (likely((READ_ONCE(dcc->epoch) & 1) == e)) {
			*epoch = e;
			return;
		}
		if (atomic_dec_and_test(&dcc->inflight[e]))
			wake_up(&dcc->epoch_wait);
	}
}

static void dcc_epoch_exit(struct dcc *dcc, unsigned int e)
{
	if (atomic_dec_and_test(&dcc->inflight[e]) &&
	    (READ_ONCE(dcc->epoch) & 1) != e)
		wake_up(&dcc->epoch_wait);
}

/*
 * Wait until every write counted in the current epoch has ended, at most
 * DCC_CLEAR_DRAIN_TIMEOUT (twice that after a drain that timed out).
 * Called with clear_mutex held; CLEAR_DIRTY holds nothing else (commits
 * go on meanwhile), CLEAN commit_mutex too: no counted write needs a
 * commit to end.
 */
static int dcc_epoch_drain(struct dcc *dcc)
{
	unsigned int old;

	lockdep_assert_held(&dcc->clear_mutex);
	if (dcc->drain_broken) {
		/* The last drain timed out: its epoch must empty first. */
		old = (dcc->epoch & 1) ^ 1;
		if (!wait_event_timeout(dcc->epoch_wait,
					!atomic_read(&dcc->inflight[old]),
					DCC_CLEAR_DRAIN_TIMEOUT))
			return -ETIMEDOUT;
		dcc->drain_broken = false;
	}
	old = dcc->epoch & 1;
	/* Cleared dirty bits are visible before the flip... */
	smp_mb();
	WRITE_ONCE(dcc->epoch, dcc->epoch + 1);
	/* ...and the flip before we read the old epoch's count. */
	smp_mb();
	if (!wait_event_timeout(dcc->epoch_wait,
				!atomic_read(&dcc->inflight[old]),
				DCC_CLEAR_DRAIN_TIMEOUT)) {
		dcc->drain_broken = true;
		return -ETIMEDOUT;
	}
	/*
	 * What the drained writes did before they left their epoch (their
	 * disarms) is seen by the caller's reads from here on.  Pairs with
	 * the full barrier of atomic_dec_and_test() in dcc_epoch_exit().
	 */
	smp_rmb();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Region locks                                                              */
/* ------------------------------------------------------------------------ */

static struct dcc_lock *__dcc_lock_find(struct dcc *dcc, u64 r)
{
	struct dcc_lock *lk;

	hash_for_each_possible(dcc->lock_table, lk, hnode, r)
		if (lk->region == r)
			return lk;
	return NULL;
}

static struct dcc_lock *dcc_lock_alloc(struct dcc *dcc)
{
	return mempool_alloc(&dcc->lock_pool, GFP_NOIO);
}

static void dcc_lock_free(struct dcc *dcc, struct dcc_lock *lk)
{
	if (lk)
		mempool_free(lk, &dcc->lock_pool);
}

static void __dcc_lock_insert(struct dcc *dcc, struct dcc_lock *lk, u64 r,
			      enum dcc_lock_type type)
{
	memset(lk, 0, sizeof(*lk));
	lk->dcc = dcc;
	lk->region = r;
	lk->type = type;
	bio_list_init(&lk->waiters);
	INIT_LIST_HEAD(&lk->work);
	hash_add(dcc->lock_table, &lk->hnode, r);
	list_add_tail(&lk->list, &dcc->locks);
	dcc->nr_locks++;
}

/*
 * Make @bio wait for @lk.  The first bio to wait for a fill, new or begun
 * by the daemon in the background, is a miss: the daemon hears of it.
 */
static void __dcc_lock_add_waiter(struct dcc *dcc, struct dcc_lock *lk,
				  struct bio *bio)
{
	if (bio_list_empty(&lk->waiters)) {
		lk->deadline = jiffies + dcc->miss_timeout * HZ;
		if (lk->type == DCC_LOCK_FETCH) {
			lk->notify = true;
			dcc->notify_owed = true;
			dcc->nr_misses++;
		}
	}
	bio_list_add(&lk->waiters, bio);
}

/*
 * Unlock a region.  Its waiters run again (err == 0) or are moved to
 * @failed for the caller to fail once the lock is dropped (@failed may be
 * NULL when err is 0).
 */
static void __dcc_lock_drop(struct dcc *dcc, struct dcc_lock *lk,
			    blk_status_t err, struct bio_list *failed)
{
	hash_del(&lk->hnode);
	list_del(&lk->list);
	dcc->nr_locks--;
	if (err)
		bio_list_merge(failed, &lk->waiters);
	else
		bio_list_merge(&dcc->deferred, &lk->waiters);
	mempool_free(lk, &dcc->lock_pool);
}

static void dcc_fail_bios(struct bio_list *bios, blk_status_t err)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios))) {
		bio->bi_status = err;
		bio_endio(bio);
	}
}

void dcc_wake(struct dcc *dcc)
{
	queue_work(dcc->wq, &dcc->worker);
}

void dcc_state_changed(struct dcc *dcc)
{
	dm_table_event(dcc->ti->table);
	dcc_notify_state(dcc);
}

/*
 * A volume with nothing dirty got a dirty region: the daemon hears it
 * (EVENT_STATE) and need not poll an idle volume for its first write.
 * Once per such change, after the commit that recorded it.
 */
static void dcc_tell_first_dirty(struct dcc *dcc)
{
	bool tell;

	if (!READ_ONCE(dcc->first_dirty))
		return;
	spin_lock_irq(&dcc->lock);
	tell = dcc->first_dirty;
	dcc->first_dirty = false;
	spin_unlock_irq(&dcc->lock);
	if (tell)
		dcc_notify_state(dcc);
}

/*
 * A change uevent on the dm disk: udev runs its rules again, and whether it
 * may probe the volume (every read served here at once) follows the role
 * and the valid count, which only userspace weighs.  Sent from the system
 * workqueue: it allocates, and the worker is in the I/O path.
 */
static void do_uevent(struct work_struct *ws)
{
	struct dcc *dcc = container_of(ws, struct dcc, uevent);
	struct gendisk *disk = dm_disk(dm_table_get_md(dcc->ti->table));

	kobject_uevent(&disk_to_dev(disk)->kobj, KOBJ_CHANGE);
}

static void dcc_uevent(struct dcc *dcc)
{
	schedule_work(&dcc->uevent);
}

/* Tell udev when the volume becomes whole here, or stops being whole. */
static void dcc_check_whole(struct dcc *dcc)
{
	bool whole, changed;

	spin_lock_irq(&dcc->lock);
	whole = dcc->nr_valid == dcc->nr_regions;
	changed = whole != dcc->told_whole;
	dcc->told_whole = whole;
	spin_unlock_irq(&dcc->lock);
	if (changed)
		dcc_uevent(dcc);
}

/* Drop @lock for a moment every 4096 steps of a long walk over a bitmap. */
static void dcc_relax_lock(struct dcc *dcc, u64 *steps)
{
	if (++*steps % 4096)
		return;
	spin_unlock_irq(&dcc->lock);
	cond_resched();
	spin_lock_irq(&dcc->lock);
}

/* ------------------------------------------------------------------------ */
/* Metadata commits and their failures                                       */
/* ------------------------------------------------------------------------ */

static int __dcc_mode_error(struct dcc *dcc)
{
	switch (dcc->mode) {
	case DCC_MODE_WRITE:
		return 0;
	case DCC_MODE_READ_ONLY:
		return -EROFS;
	default:
		return -EIO;
	}
}

/*
 * Metadata trouble.  A failed write makes the target read-only: no writes
 * and no fills, since neither could be recorded, and no further metadata
 * writes.  If the metadata cannot even be read, the target fails every
 * bio.  Worse modes compare greater and are never left.
 */
static void __dcc_degrade(struct dcc *dcc, const char *why, int err)
{
	if (dcc->mode == DCC_MODE_WRITE) {
		DMERR("%u:%u: %s failed (%d): switching to read-only mode",
		      MAJOR(dcc->md_dev), MINOR(dcc->md_dev), why, err);
		WRITE_ONCE(dcc->mode, DCC_MODE_READ_ONLY);
		/* No write may take the fast path from now on. */
		bitmap_zero(dcc->hot_dirty, dcc->nr_regions);
	} else if (dcc->mode == DCC_MODE_READ_ONLY) {
		DMERR("%u:%u: %s failed (%d): switching to fail mode",
		      MAJOR(dcc->md_dev), MINOR(dcc->md_dev), why, err);
		WRITE_ONCE(dcc->mode, DCC_MODE_FAIL);
		bitmap_zero(dcc->hot_valid, dcc->nr_regions);
	}
}

static void dcc_metadata_failed(struct dcc *dcc, const char *why, int err)
{
	spin_lock_irq(&dcc->lock);
	__dcc_degrade(dcc, why, err);
	spin_unlock_irq(&dcc->lock);
	/* Can the metadata still be read?  If not, nothing is trusted. */
	if (dcc_meta_check_readable(dcc)) {
		spin_lock_irq(&dcc->lock);
		__dcc_degrade(dcc, "metadata read", -EIO);
		spin_unlock_irq(&dcc->lock);
	}
	dcc_state_changed(dcc);
}

/*
 * Commit what changed, in rw mode only; a failure degrades the target.
 * Called with commit_mutex held, which also keeps the mode as it is.
 */
static int dcc_commit(struct dcc *dcc)
{
	int r;

	lockdep_assert_held(&dcc->commit_mutex);
	/*
	 * Replaced by a new table, which read the disk and owns it now: the
	 * blocks this one changed since (a CLEAR_DIRTY taken between its
	 * suspend and the new table's resume) would overwrite the new
	 * table's, dirty bits set since among them.
	 */
	if (dcc->retired)
		return 0;
	r = __dcc_mode_error(dcc);
	if (r)
		return r;
	r = dcc_meta_commit(dcc);
	if (r)
		dcc_metadata_failed(dcc, "metadata commit", r);
	return r;
}

/* ------------------------------------------------------------------------ */
/* Deferred bios                                                             */
/* ------------------------------------------------------------------------ */

static void dcc_defer_bio(struct dcc *dcc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&dcc->lock, flags);
	bio_list_add(&dcc->deferred, bio);
	spin_unlock_irqrestore(&dcc->lock, flags);
	dcc_wake(dcc);
}

static bool dcc_bio_covers_region(struct dcc *dcc, struct bio *bio, u64 r)
{
	return bio->bi_iter.bi_sector == ((sector_t)r << dcc->region_shift) &&
	       bio_sectors(bio) == dcc_region_len(dcc, r);
}

/* Why a bio may not run at all now, or 0. */
static blk_status_t __dcc_refuse(struct dcc *dcc, bool write)
{
	if (!dcc->serves || dcc->mode == DCC_MODE_FAIL)
		return BLK_STS_IOERR;
	if (write && dcc->mode != DCC_MODE_WRITE)
		return BLK_STS_IOERR;
	return 0;
}

/*
 * The target needs a lease and none runs: the last one ended, or none was
 * granted to this table yet.  Exact with dcc->lock held; without it (.map)
 * a hint, which sends the bio to the worker to look again under the lock.
 * While the flag is clear this is a single read.
 */
static inline bool dcc_lease_lapsed(struct dcc *dcc)
{
	return unlikely(READ_ONCE(dcc->lease)) &&
	       ktime_get_coarse_boottime_ns() >= READ_ONCE(dcc->lease_end);
}

/* A held bio waits for a lease from now on, for miss_timeout at most. */
static void __dcc_hold_from_now(struct dcc *dcc, struct bio *bio)
{
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));

	pb->deadline = jiffies + dcc->miss_timeout * HZ;
}

/* Hold @bio until a lease runs (see dcc_release_held()). */
static void __dcc_hold_bio(struct dcc *dcc, struct bio *bio)
{
	__dcc_hold_from_now(dcc, bio);
	bio_list_add(&dcc->held, bio);
}

/* ------------------------------------------------------------------------ */
/* Synchronous replication                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Held-write ids, unique across all targets and reloads of this module: a
 * daemon's late answer for a write of an earlier table can never name one
 * of a later table.
 */
static atomic64_t dcc_sync_seq = ATOMIC64_INIT(0);

/* Whether a write leaves data the other site must hold (not a discard). */
static bool dcc_sync_holds(struct bio *bio)
{
	return bio_op(bio) == REQ_OP_WRITE || bio_op(bio) == REQ_OP_WRITE_ZEROES;
}

/* A write's data landed: what the daemon read of its region is stale. */
static void dcc_write_landed(struct dcc *dcc, struct dcc_bio *pb)
{
	if (!pb->counted)
		return;
	if (unlikely(test_bit(pb->region, dcc->armed)))
		clear_bit(pb->region, dcc->armed);
	pb->counted = false;
	dcc_epoch_exit(dcc, pb->epoch);
}

/*
 * A write of @r ends, or ended, without the other site's confirmation: a
 * CLEAR_DIRTY with CONFIRMED leaves the region to a push.  Set once the
 * write is counted in an epoch (or under the lock), and before it counts
 * as landed or leaves sync_held, so that such a clear, which drains the
 * writes in flight and then looks at sync_held, sees it in one place or
 * the other.  A clear that could unset the bit meanwhile waits for the
 * write, so a bit already set need not be written again.
 */
static inline void dcc_unconfirmed(struct dcc *dcc, u64 r)
{
	if (!test_bit(r, dcc->unconfirmed) &&
	    !test_and_set_bit(r, dcc->unconfirmed))
		atomic64_inc(&dcc->nr_unconfirmed);
}

/*
 * A write of a sync volume reached the data device: it waits on
 * sync_held until the daemon says the other site holds it too
 * (WRITES_DONE), or fails at its deadline.  Called at bio completion.
 * It counts as landed only once it is held (see dcc_unconfirmed()).
 */
static void dcc_sync_hold(struct dcc *dcc, struct bio *bio)
{
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));
	unsigned long flags;

	spin_lock_irqsave(&dcc->lock, flags);
	if (!dcc->sync) {
		/* The daemon went on without the peer meanwhile. */
		dcc_unconfirmed(dcc, pb->region);
		dcc_write_landed(dcc, pb);
		spin_unlock_irqrestore(&dcc->lock, flags);
		bio_endio(bio);
		return;
	}
	pb->sync_id = atomic64_inc_return(&dcc_sync_seq);
	pb->deadline = jiffies + dcc->miss_timeout * HZ;
	list_add_tail(&pb->sync_node, &dcc->sync_held);
	dcc->nr_sync_held++;
	dcc_write_landed(dcc, pb);
	spin_unlock_irqrestore(&dcc->lock, flags);
	dcc_wake(dcc);
}

static void dcc_sync_endio(struct bio *clone)
{
	struct bio *bio = clone->bi_private;
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));
	struct dcc *dcc = pb->dcc;
	blk_status_t status = clone->bi_status;

	bio_put(clone);
	if (status) {
		dcc_unconfirmed(dcc, pb->region);
		dcc_write_landed(dcc, pb);
		bio->bi_status = status;
		bio_endio(bio);
		return;
	}
	dcc_sync_hold(dcc, bio);
}

/*
 * A write of a sync volume goes to the data device as a clone, so that
 * the bio itself completes only when dcc_sync_hold() lets it.  Only from
 * the worker: a clone is never allocated under .map.
 */
static void dcc_sync_submit(struct dcc *dcc, struct bio *bio)
{
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));
	struct bio *clone;

	clone = bio_alloc_clone(dcc->data_dev->bdev, bio, GFP_NOIO, &dcc->bs);
	if (unlikely(!clone)) {
		dcc_write_landed(dcc, pb);	/* (nothing written) */
		bio->bi_status = BLK_STS_RESOURCE;
		bio_endio(bio);
		return;
	}
	pb->dcc = dcc;
	clone->bi_private = bio;
	clone->bi_end_io = dcc_sync_endio;
	submit_bio_noacct(clone);
}

/*
 * Take the held writes whose deadline passed, and fail them.  Deadlines
 * grow along the list (a smaller miss_timeout meanwhile only delays the
 * later ones until the earlier ones are due).
 */
static void dcc_sync_expire(struct dcc *dcc)
{
	struct bio_list failed = BIO_EMPTY_LIST;
	struct dcc_bio *pb, *tmp;

	spin_lock_irq(&dcc->lock);
	list_for_each_entry_safe(pb, tmp, &dcc->sync_held, sync_node) {
		if (time_before(jiffies, pb->deadline))
			break;
		list_del_init(&pb->sync_node);
		dcc->nr_sync_held--;
		dcc_unconfirmed(dcc, pb->region);
		bio_list_add(&failed, dm_bio_from_per_bio_data(pb, sizeof(*pb)));
	}
	if (!bio_list_empty(&failed))
		dcc->nr_timeouts++;
	spin_unlock_irq(&dcc->lock);
	if (bio_list_empty(&failed))
		return;
	DMWARN_LIMIT("%u:%u: the other site did not confirm writes within %us: failing them",
		     MAJOR(dcc->md_dev), MINOR(dcc->md_dev), dcc->miss_timeout);
	dcc_fail_bios(&failed, BLK_STS_IOERR);
}

/* Announce the held writes not announced yet, a batch at a time. */
static void dcc_sync_announce(struct dcc *dcc)
{
	struct dcc_written *w = dcc->sync_buf;	/* the worker's alone */
	struct dcc_bio *pb;
	unsigned int n, round;

	do {
		n = 0;
		spin_lock_irq(&dcc->lock);
		round = dcc->sync_round;
		list_for_each_entry(pb, &dcc->sync_held, sync_node) {
			struct bio *bio;

			if (pb->sync_id <= dcc->sync_announced)
				continue;
			bio = dm_bio_from_per_bio_data(pb, sizeof(*pb));
			w[n].id = pb->sync_id;
			w[n].sector = bio->bi_iter.bi_sector;
			w[n].sectors = bio_sectors(bio);
			w[n].pad = 0;
			if (++n == DCC_MAX_WRITES_PER_EVENT)
				break;
		}
		spin_unlock_irq(&dcc->lock);
		if (!n || !dcc_notify_written(dcc, w, n))
			return;	/* (no memory: the next round tries again) */
		spin_lock_irq(&dcc->lock);
		/* An ANNOUNCE_WRITES meanwhile wants them all again. */
		if (dcc->sync_round == round)
			dcc->sync_announced = w[n - 1].id;
		spin_unlock_irq(&dcc->lock);
	} while (n == DCC_MAX_WRITES_PER_EVENT);
}

/*
 * Send a write on if its region is valid and its dirty bit is on disk;
 * otherwise give it back to the worker.  Refused if the target stopped
 * serving, or writing, meanwhile.
 */
static void dcc_issue_write(struct dcc *dcc, struct bio *bio)
{
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));

	dcc_epoch_enter(dcc, &pb->epoch);
	/*
	 * The target may have stopped serving while the write waited for its
	 * dirty bit: counted first, as an overwrite is, so that a SET_ROLE
	 * that stops serving either drains it or finds it refused here.
	 */
	if (unlikely(!READ_ONCE(dcc->serves) ||
		     READ_ONCE(dcc->mode) != DCC_MODE_WRITE)) {
		dcc_epoch_exit(dcc, pb->epoch);
		bio->bi_status = BLK_STS_IOERR;
		bio_endio(bio);
		return;
	}
	if (test_bit(pb->region, dcc->hot_valid) &&
	    test_bit(pb->region, dcc->hot_dirty)) {
		pb->counted = true;
		smp_rmb();	/* the mode after the hot bits: see dcc_map() */
		if (READ_ONCE(dcc->sync) && dcc_sync_holds(bio)) {
			dcc_sync_submit(dcc, bio);
			return;
		}
		dcc_unconfirmed(dcc, pb->region);
		submit_bio_noacct(bio);
		return;
	}
	dcc_epoch_exit(dcc, pb->epoch);
	dcc_defer_bio(dcc, bio);
}

static void dcc_process_bio(struct dcc *dcc, struct bio *bio)
{
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));
	bool write = op_is_write(bio_op(bio));
	struct dcc_lock *lk, *spare = NULL;
	u64 r = pb->region;
	blk_status_t err;

retry:
	spin_lock_irq(&dcc->lock);
	if (unlikely(!bio_sectors(bio))) {
		/* An empty flush is never refused, and needs no lease. */
		spin_unlock_irq(&dcc->lock);
		submit_bio_noacct(bio);
		return;
	}
	err = __dcc_refuse(dcc, write);
	if (err)
		goto fail;
	if (dcc_lease_lapsed(dcc))
		goto hold;
	lk = __dcc_lock_find(dcc, r);
	if (lk && lk->type == DCC_LOCK_FETCH && dcc->requeue_misses) {
		err = BLK_STS_DM_REQUEUE;
		goto fail;
	}
	if (lk) {
		__dcc_lock_add_waiter(dcc, lk, bio);
		goto out;
	}
	if (test_bit(r, dcc->valid)) {
		if (!write) {
			spin_unlock_irq(&dcc->lock);
			submit_bio_noacct(bio);
			dcc_lock_free(dcc, spare);
			return;
		}
		/*
		 * The write waits for its dirty bit: whatever the daemon read
		 * of the region is stale once it lands.  If a CLEAR_DIRTY is
		 * draining the region, its bit is on disk still: give it back
		 * to the fast path rather than wait for that CLEAR_DIRTY.
		 */
		clear_bit(r, dcc->armed);
		if (__test_and_clear_bit(r, dcc->clearing))
			set_bit(r, dcc->hot_dirty);
		__dcc_set_dirty(dcc, r);
		bio_list_add(&dcc->commit_wait, bio);
		goto out;
	}
	/* Invalid here: it needs a fill or an overwrite, both recorded in metadata. */
	if (dcc->mode != DCC_MODE_WRITE) {
		err = BLK_STS_IOERR;
		goto fail;
	}
	if (dcc->requeue_misses && !(write && dcc_bio_covers_region(dcc, bio, r))) {
		err = BLK_STS_DM_REQUEUE;
		goto fail;
	}
	if (!spare) {
		spin_unlock_irq(&dcc->lock);
		spare = dcc_lock_alloc(dcc);
		goto retry;
	}
	if (write && dcc_bio_covers_region(dcc, bio, r)) {
		/*
		 * Nothing to fetch: the write replaces the whole region.  It is
		 * held only once its valid bit is committed, so it is never
		 * confirmed: left to a push.
		 */
		__dcc_lock_insert(dcc, spare, r, DCC_LOCK_OVERWRITE);
		spare->owner_bio = bio;
		dcc_unconfirmed(dcc, r);
		__dcc_set_dirty(dcc, r);
		list_add_tail(&spare->work, &dcc->overwrite_start);
	} else {
		__dcc_lock_insert(dcc, spare, r, DCC_LOCK_FETCH);
		__dcc_lock_add_waiter(dcc, spare, bio);
	}
	spare = NULL;
	goto out;
hold:
	/* A noflush suspend takes it back, as it takes the misses. */
	if (dcc->requeue_misses) {
		err = BLK_STS_DM_REQUEUE;
		goto fail;
	}
	__dcc_hold_bio(dcc, bio);
out:
	spin_unlock_irq(&dcc->lock);
	dcc_lock_free(dcc, spare);
	return;
fail:
	spin_unlock_irq(&dcc->lock);
	dcc_lock_free(dcc, spare);
	bio->bi_status = err;
	bio_endio(bio);
}

static void dcc_overwrite_endio(struct bio *clone)
{
	struct dcc_lock *lk = clone->bi_private;
	struct dcc *dcc = lk->dcc;
	unsigned long flags;

	lk->status = clone->bi_status;
	bio_put(clone);
	if (unlikely(test_bit(lk->region, dcc->armed)))
		clear_bit(lk->region, dcc->armed);
	dcc_epoch_exit(dcc, lk->epoch);

	spin_lock_irqsave(&dcc->lock, flags);
	list_add_tail(&lk->work, &dcc->overwrite_done);
	spin_unlock_irqrestore(&dcc->lock, flags);
	dcc_wake(dcc);
}

/* Start the whole-region writes whose dirty bit is now on disk. */
static void dcc_start_overwrites(struct dcc *dcc, struct list_head *start,
				 int commit_err)
{
	struct dcc_lock *lk, *tmp;

	list_for_each_entry_safe(lk, tmp, start, work) {
		struct bio *clone;

		list_del_init(&lk->work);
		if (commit_err) {
			lk->status = BLK_STS_IOERR;
			spin_lock_irq(&dcc->lock);
			list_add_tail(&lk->work, &dcc->overwrite_done);
			spin_unlock_irq(&dcc->lock);
			dcc_wake(dcc);
			continue;
		}
		/*
		 * Counted before the target is looked at: a SET_ROLE's CLEAN
		 * after the target stopped serving either drains this write
		 * or finds it refused here, never landing after its drop.
		 */
		dcc_epoch_enter(dcc, &lk->epoch);
		if (unlikely(!READ_ONCE(dcc->serves) ||
			     READ_ONCE(dcc->mode) != DCC_MODE_WRITE)) {
			dcc_epoch_exit(dcc, lk->epoch);
			lk->status = BLK_STS_IOERR;
			spin_lock_irq(&dcc->lock);
			list_add_tail(&lk->work, &dcc->overwrite_done);
			spin_unlock_irq(&dcc->lock);
			dcc_wake(dcc);
			continue;
		}
		clone = bio_alloc_clone(dcc->data_dev->bdev, lk->owner_bio,
					GFP_NOIO, &dcc->bs);
		clone->bi_private = lk;
		clone->bi_end_io = dcc_overwrite_endio;
		submit_bio_noacct(clone);
	}
}

/*
 * Whole-region writes that completed: mark their regions valid.  They are
 * acknowledged only after the commit, in dcc_complete_overwrites(), so that
 * an acknowledged write never sits in a region a crash would call invalid.
 * A region whose write failed stays invalid, and its dirty bit goes in the
 * same commit: its content still comes from the other site, which must not
 * be told to drop its copy.
 */
static void dcc_mark_overwrites(struct dcc *dcc, struct list_head *done)
{
	struct dcc_lock *lk;

	spin_lock_irq(&dcc->lock);
	list_splice_init(&dcc->overwrite_done, done);
	list_for_each_entry(lk, done, work) {
		if (!lk->status)
			__dcc_set_valid(dcc, lk->region);
		else
			__dcc_clear_dirty(dcc, lk->region, false);
	}
	spin_unlock_irq(&dcc->lock);
}

static void dcc_complete_overwrites(struct dcc *dcc, struct list_head *done,
				    int commit_err)
{
	struct dcc_lock *lk, *tmp;

	list_for_each_entry_safe(lk, tmp, done, work) {
		struct bio *bio = lk->owner_bio;
		blk_status_t status = lk->status;

		if (!status && commit_err)
			status = BLK_STS_IOERR;
		list_del_init(&lk->work);
		spin_lock_irq(&dcc->lock);
		/* Waiters run again; they will fetch if the write failed. */
		__dcc_lock_drop(dcc, lk, 0, NULL);
		spin_unlock_irq(&dcc->lock);
		if (!status && dcc_sync_holds(bio)) {
			dcc_sync_hold(dcc, bio);
			continue;
		}
		bio->bi_status = status;
		bio_endio(bio);
	}
}

/* Fail waiters of fills that took longer than the bound. */
static void dcc_expire_locks(struct dcc *dcc)
{
	struct bio_list failed = BIO_EMPTY_LIST;
	struct dcc_lock *lk, *tmp;
	bool expired = false;

	spin_lock_irq(&dcc->lock);
	list_for_each_entry_safe(lk, tmp, &dcc->locks, list) {
		if (lk->type != DCC_LOCK_FETCH || bio_list_empty(&lk->waiters) ||
		    time_before(jiffies, lk->deadline))
			continue;
		dcc->nr_timeouts++;
		expired = true;
		/*
		 * A registered daemon may be writing this region right now, so
		 * its lock stays until it reports the fill or gives it back
		 * (FILL_RELEASE); only the waiters go.
		 */
		if (dcc->registered) {
			bio_list_merge(&failed, &lk->waiters);
			bio_list_init(&lk->waiters);
		} else {
			__dcc_lock_drop(dcc, lk, BLK_STS_IOERR, &failed);
		}
	}
	spin_unlock_irq(&dcc->lock);
	if (expired)
		DMWARN_LIMIT("%u:%u: fill not done within %us: failing bios",
			     MAJOR(dcc->md_dev), MINOR(dcc->md_dev),
			     dcc->miss_timeout);
	dcc_fail_bios(&failed, BLK_STS_IOERR);
}

/*
 * Bios held for a lease go back to the worker's list once a lease runs or
 * the flag is cleared, and once the target stops serving (they are
 * refused there, as every bio is then).  Those held for miss_timeout
 * fail.
 */
static void dcc_release_held(struct dcc *dcc)
{
	struct bio_list failed = BIO_EMPTY_LIST, keep = BIO_EMPTY_LIST;
	struct bio *bio;

	spin_lock_irq(&dcc->lock);
	if (!dcc->serves || !dcc_lease_lapsed(dcc)) {
		bio_list_merge(&dcc->deferred, &dcc->held);
		bio_list_init(&dcc->held);
	} else {
		while ((bio = bio_list_pop(&dcc->held))) {
			struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));

			if (time_before(jiffies, pb->deadline))
				bio_list_add(&keep, bio);
			else
				bio_list_add(&failed, bio);
		}
		bio_list_merge(&dcc->held, &keep);
		if (!bio_list_empty(&failed))
			dcc->nr_timeouts++;
	}
	spin_unlock_irq(&dcc->lock);
	if (bio_list_empty(&failed))
		return;
	DMWARN_LIMIT("%u:%u: no lease within %us: failing bios",
		     MAJOR(dcc->md_dev), MINOR(dcc->md_dev), dcc->miss_timeout);
	dcc_fail_bios(&failed, BLK_STS_IOERR);
}

#define DCC_NOTIFY_BATCH 32

static void dcc_send_notifications(struct dcc *dcc)
{
	u64 regions[DCC_NOTIFY_BATCH];
	struct dcc_lock *lk;
	unsigned int n, i;

	do {
		n = 0;
		spin_lock_irq(&dcc->lock);
		if (dcc->notify_owed) {
			list_for_each_entry(lk, &dcc->locks, list) {
				if (!lk->notify)
					continue;
				lk->notify = false;
				regions[n++] = lk->region;
				if (n == DCC_NOTIFY_BATCH)
					break;
			}
			if (n < DCC_NOTIFY_BATCH)
				dcc->notify_owed = false;
		}
		spin_unlock_irq(&dcc->lock);
		for (i = 0; i < n; i++)
			dcc_notify_miss(dcc, regions[i]);
	} while (n == DCC_NOTIFY_BATCH);
}

static void do_worker(struct work_struct *ws)
{
	struct dcc *dcc = container_of(ws, struct dcc, worker);
	struct bio_list bios = BIO_EMPTY_LIST, writes = BIO_EMPTY_LIST;
	LIST_HEAD(start);
	LIST_HEAD(done);
	struct bio *bio;
	bool idle;
	int r;

	dcc_release_held(dcc);
	spin_lock_irq(&dcc->lock);
	bio_list_merge(&bios, &dcc->deferred);
	bio_list_init(&dcc->deferred);
	spin_unlock_irq(&dcc->lock);

	while ((bio = bio_list_pop(&bios)))
		dcc_process_bio(dcc, bio);

	dcc_mark_overwrites(dcc, &done);
	/* Misses first: a fill must not wait for this round's commit. */
	dcc_send_notifications(dcc);
	dcc_sync_expire(dcc);
	dcc_sync_announce(dcc);

	/*
	 * One commit covers new dirty bits, finished overwrites and the
	 * periodic work.  With neither of the first two (the lists are the
	 * worker's own), another holder of commit_mutex is not waited for:
	 * the bios a FILL_DONE released before its commit run at the next
	 * pass at once.  What this pass would have written (cleared dirty
	 * bits) goes with that holder's commit, or with the waker's next
	 * pass if the holder does not commit.
	 */
	spin_lock_irq(&dcc->lock);
	idle = bio_list_empty(&dcc->commit_wait) &&
	       list_empty(&dcc->overwrite_start) && list_empty(&done);
	spin_unlock_irq(&dcc->lock);
	if (!idle)
		mutex_lock(&dcc->commit_mutex);
	else if (!mutex_trylock(&dcc->commit_mutex))
		goto out;
	spin_lock_irq(&dcc->lock);
	bio_list_merge(&writes, &dcc->commit_wait);
	bio_list_init(&dcc->commit_wait);
	list_splice_init(&dcc->overwrite_start, &start);
	spin_unlock_irq(&dcc->lock);
	r = dcc_commit(dcc);
	mutex_unlock(&dcc->commit_mutex);
	dcc_tell_first_dirty(dcc);

	dcc_complete_overwrites(dcc, &done, r);
	dcc_check_whole(dcc);
	dcc_start_overwrites(dcc, &start, r);
	while ((bio = bio_list_pop(&writes))) {
		if (r)
			dcc_defer_bio(dcc, bio);	/* to be failed by mode */
		else
			dcc_issue_write(dcc, bio);
	}
out:
	dcc_expire_locks(dcc);
}

static void do_waker(struct work_struct *ws)
{
	struct dcc *dcc = container_of(to_delayed_work(ws), struct dcc, waker);

	dcc_wake(dcc);
	queue_delayed_work(dcc->wq, &dcc->waker, DCC_COMMIT_PERIOD);
}

/* ------------------------------------------------------------------------ */
/* Operations for the daemon (netlink)                                       */
/* ------------------------------------------------------------------------ */

static int __dcc_check_reg(struct dcc *dcc, u32 portid, u64 reg_id)
{
	if (!dcc->registered || dcc->reg_id != reg_id || dcc->reg_portid != portid)
		return -ESTALE;
	return 0;
}

static int dcc_check_range(struct dcc *dcc, u64 r, u64 count)
{
	if (!count || r >= dcc->nr_regions || count > dcc->nr_regions - r)
		return -ERANGE;
	return 0;
}

/*
 * A request's ranges: -E2BIG if they hold more than @max regions together,
 * -ERANGE if one is empty or leaves the volume.  (Netlink checked that
 * they are sorted and disjoint.)
 */
static int dcc_check_ranges(struct dcc *dcc, const struct dcc_range *ranges,
			    unsigned int n, u64 max)
{
	u64 total = 0;
	unsigned int k;
	int ret;

	for (k = 0; k < n; k++) {
		if (ranges[k].count > max - total)
			return -E2BIG;
		total += ranges[k].count;
		ret = dcc_check_range(dcc, ranges[k].start, ranges[k].count);
		if (ret)
			return ret;
	}
	return 0;
}

static atomic64_t dcc_reg_seq = ATOMIC64_INIT(0);

int dcc_op_register(struct dcc *dcc, u32 portid, u64 *reg_id)
{
	int ret = 0;

	spin_lock_irq(&dcc->lock);
	if (dcc->registered && dcc->reg_portid != portid) {
		/* The old daemon's socket still exists. */
		ret = -EBUSY;
	} else {
		dcc->registered = true;
		dcc->reg_portid = portid;
		dcc->reg_id = atomic64_inc_return(&dcc_reg_seq);
		*reg_id = dcc->reg_id;
	}
	spin_unlock_irq(&dcc->lock);
	if (!ret) {
		DMINFO("%u:%u: daemon registered (port %u, registration %llu)",
		       MAJOR(dcc->md_dev), MINOR(dcc->md_dev), portid, *reg_id);
		dcc_state_changed(dcc);
	}
	return ret;
}

/* The daemon is gone: fills nobody waits for are forgotten. */
static void __dcc_unregister(struct dcc *dcc)
{
	struct dcc_lock *lk, *tmp;

	dcc->registered = false;
	list_for_each_entry_safe(lk, tmp, &dcc->locks, list) {
		if (lk->type == DCC_LOCK_FETCH && bio_list_empty(&lk->waiters))
			__dcc_lock_drop(dcc, lk, 0, NULL);
		else if (lk->type == DCC_LOCK_FETCH)
			lk->notify = true;	/* announce again to the next daemon */
	}
	dcc->notify_owed = true;
}

int dcc_op_unregister(struct dcc *dcc, u32 portid, u64 reg_id)
{
	int ret;

	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (!ret)
		__dcc_unregister(dcc);
	spin_unlock_irq(&dcc->lock);
	if (!ret)
		dcc_state_changed(dcc);
	return ret;
}

void dcc_portid_released(u32 portid)
{
	struct dcc *dcc;

	mutex_lock(&dcc_targets_mutex);
	list_for_each_entry(dcc, &dcc_targets, node) {
		bool hit;

		spin_lock_irq(&dcc->lock);
		hit = dcc->registered && dcc->reg_portid == portid;
		if (hit)
			__dcc_unregister(dcc);
		spin_unlock_irq(&dcc->lock);
		if (hit) {
			DMINFO("%u:%u: daemon socket closed, registration dropped",
			       MAJOR(dcc->md_dev), MINOR(dcc->md_dev));
			dcc_wake(dcc);
			dcc_state_changed(dcc);
		}
	}
	mutex_unlock(&dcc_targets_mutex);
}

static unsigned int __dcc_get_bitmap_ranges(unsigned long *map, bool set_bits,
					    u64 nbits, u64 cursor,
					    struct dcc_range *out,
					    unsigned int max, u64 *next)
{
	unsigned int n = 0;
	u64 s = cursor, e;

	while (n < max && s < nbits) {
		s = set_bits ? find_next_bit(map, nbits, s) :
			       find_next_zero_bit(map, nbits, s);
		if (s >= nbits)
			break;
		e = set_bits ? find_next_zero_bit(map, nbits, s) :
			       find_next_bit(map, nbits, s);
		out[n].start = s;
		out[n].count = e - s;
		n++;
		s = e;
	}
	*next = s < nbits ? s : U64_MAX;
	return n;
}

static int dcc_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

int dcc_op_get_regions(struct dcc *dcc, unsigned int set, u64 cursor,
		       struct dcc_range *out, unsigned int max, u64 *next)
{
	unsigned int n = 0, i, nr;
	struct dcc_lock *lk;
	u64 *pending;

	if (set == DCC_SET_INVALID || set == DCC_SET_DIRTY ||
	    set == DCC_SET_UNCONFIRMED || set == DCC_SET_AHEAD) {
		unsigned long *map = set == DCC_SET_DIRTY ? dcc->dirty :
				     set == DCC_SET_INVALID ? dcc->valid :
				     dcc->unconfirmed;

		spin_lock_irq(&dcc->lock);
		if (set == DCC_SET_AHEAD && !dcc->sync) {
			map = dcc->dirty;
		} else if (set == DCC_SET_AHEAD && !dcc->sb_ahead) {
			spin_unlock_irq(&dcc->lock);
			*next = U64_MAX;
			return 0;
		}
		n = __dcc_get_bitmap_ranges(map, set != DCC_SET_INVALID,
					    dcc->nr_regions, cursor, out, max,
					    next);
		spin_unlock_irq(&dcc->lock);
		return n;
	}

	/*
	 * Pending (or waiting): the regions of fill locks (that a bio waits
	 * for), in order, from the cursor on.
	 */
	for (;;) {
		spin_lock_irq(&dcc->lock);
		nr = dcc->nr_locks;
		spin_unlock_irq(&dcc->lock);
		pending = kvmalloc_array(max_t(unsigned int, nr, 1), sizeof(u64), GFP_KERNEL);
		if (!pending)
			return -ENOMEM;
		spin_lock_irq(&dcc->lock);
		if (dcc->nr_locks <= nr)
			break;
		spin_unlock_irq(&dcc->lock);
		kvfree(pending);
	}
	nr = 0;
	list_for_each_entry(lk, &dcc->locks, list)
		if (lk->type == DCC_LOCK_FETCH && lk->region >= cursor &&
		    (set == DCC_SET_PENDING || !bio_list_empty(&lk->waiters)))
			pending[nr++] = lk->region;
	spin_unlock_irq(&dcc->lock);

	sort(pending, nr, sizeof(u64), dcc_cmp_u64, NULL);
	for (i = 0; i < nr && n < max; i++) {
		out[n].start = pending[i];
		out[n].count = 1;
		n++;
	}
	*next = i < nr ? pending[i] : U64_MAX;
	kvfree(pending);
	return n;
}

int dcc_op_fill_begin(struct dcc *dcc, u32 portid, u64 reg_id, u64 r)
{
	struct dcc_lock *lk, *spare;
	int ret;

	ret = dcc_check_range(dcc, r, 1);
	if (ret)
		return ret;
	spare = dcc_lock_alloc(dcc);
	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (ret)
		goto out;
	if (dcc->mode != DCC_MODE_WRITE) {
		ret = -EROFS;
		goto out;
	}
	lk = __dcc_lock_find(dcc, r);
	if (lk) {
		/* A pending miss is the daemon's to fill anyway. */
		ret = lk->type == DCC_LOCK_FETCH ? 0 : -EBUSY;
		goto out;
	}
	if (test_bit(r, dcc->valid)) {
		ret = -EEXIST;
		goto out;
	}
	__dcc_lock_insert(dcc, spare, r, DCC_LOCK_FETCH);
	spare = NULL;
out:
	spin_unlock_irq(&dcc->lock);
	dcc_lock_free(dcc, spare);
	return ret;
}

/*
 * A fill that failed ends: the bios that needed its data fail, and a
 * whole-region write, which never did, runs again as an overwrite.
 */
static void __dcc_fill_failed(struct dcc *dcc, struct dcc_lock *lk,
			      struct bio_list *failed)
{
	struct bio_list waiters = lk->waiters;
	struct bio *bio;

	bio_list_init(&lk->waiters);
	while ((bio = bio_list_pop(&waiters))) {
		if (op_is_write(bio_op(bio)) &&
		    dcc_bio_covers_region(dcc, bio, lk->region))
			bio_list_add(&dcc->deferred, bio);
		else
			bio_list_add(failed, bio);
	}
	__dcc_lock_drop(dcc, lk, 0, NULL);
}

/*
 * End the fills of every region in @ranges with one commit: the regions
 * become valid if @err is 0, else the bios that need their data fail.  Each region
 * must have a fill in progress, or nothing changes (-ENOENT).
 *
 * The bios that waited run as soon as the regions are valid in memory,
 * before the commit: the daemon wrote the data before this call, so a
 * read returns it now, and after a crash before the commit the regions
 * are invalid again and filled once more from the same copy.  A write
 * among them waits for a commit of its own (its dirty bit), which cannot
 * start before this one (commit_mutex); if this one fails, the target
 * leaves rw mode and the write is refused.  The reply still waits for
 * the commit: what the daemon does next may rely on the regions being
 * valid on disk.
 */
int dcc_op_fill_done(struct dcc *dcc, u32 portid, u64 reg_id,
		     const struct dcc_range *ranges, unsigned int n, int err)
{
	struct bio_list failed = BIO_EMPTY_LIST;
	struct dcc_lock *lk;
	unsigned int k;
	u64 r;
	int ret;

	ret = dcc_check_ranges(dcc, ranges, n, DCC_MAX_FILLS_PER_REQUEST);
	if (ret)
		return ret;

	mutex_lock(&dcc->commit_mutex);
	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (ret)
		goto unlock;
	for (k = 0; k < n; k++) {
		for (r = ranges[k].start; r < ranges[k].start + ranges[k].count; r++) {
			lk = __dcc_lock_find(dcc, r);
			if (!lk || lk->type != DCC_LOCK_FETCH) {
				ret = -ENOENT;	/* never begun, or completed already */
				goto unlock;
			}
		}
	}
	if (err || dcc->mode != DCC_MODE_WRITE) {
		if (!err)
			ret = -EROFS;
		goto drop;
	}
	/* Each lock was found above, under the same lock (ranges are disjoint). */
	for (k = 0; k < n; k++) {
		for (r = ranges[k].start; r < ranges[k].start + ranges[k].count; r++) {
			__dcc_set_valid(dcc, r);
			__dcc_lock_drop(dcc, __dcc_lock_find(dcc, r), 0, NULL);
		}
	}
	spin_unlock_irq(&dcc->lock);
	dcc_wake(dcc);

	ret = dcc_commit(dcc);
	mutex_unlock(&dcc->commit_mutex);
	dcc_check_whole(dcc);
	return ret;

drop:
	for (k = 0; k < n; k++)
		for (r = ranges[k].start; r < ranges[k].start + ranges[k].count; r++)
			__dcc_fill_failed(dcc, __dcc_lock_find(dcc, r), &failed);
unlock:
	spin_unlock_irq(&dcc->lock);
	mutex_unlock(&dcc->commit_mutex);
	dcc_fail_bios(&failed, BLK_STS_IOERR);
	dcc_wake(dcc);
	return ret;
}

/* Whether a bio waiting for @lk needs its data: all but whole-region writes. */
static bool __dcc_fill_needed(struct dcc *dcc, struct dcc_lock *lk)
{
	struct bio *bio;

	bio_list_for_each(bio, &lk->waiters)
		if (!op_is_write(bio_op(bio)) ||
		    !dcc_bio_covers_region(dcc, bio, lk->region))
			return true;
	return false;
}

/*
 * Give back the fills of the regions in @ranges that no waiting bio needs:
 * the daemon will not fill them soon (it cannot reach the other site, or
 * the bios it fetched for have timed out).  They stay invalid, so nothing
 * is committed.  Whole-region writes that waited for them run again, as
 * overwrites; a later read misses again.  A region a read or a partial
 * write waits for and one without a fill (valid ones have none) are
 * skipped: the check and the drop are one step under the lock, so a bio
 * that comes meanwhile is safe.
 */
int dcc_op_fill_release(struct dcc *dcc, u32 portid, u64 reg_id,
			const struct dcc_range *ranges, unsigned int n,
			u64 *released)
{
	struct dcc_lock *lk;
	unsigned int k;
	u64 r;
	int ret;

	*released = 0;
	ret = dcc_check_ranges(dcc, ranges, n, DCC_MAX_FILLS_PER_REQUEST);
	if (ret)
		return ret;

	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (ret)
		goto unlock;
	for (k = 0; k < n; k++) {
		for (r = ranges[k].start; r < ranges[k].start + ranges[k].count; r++) {
			lk = __dcc_lock_find(dcc, r);
			if (!lk || lk->type != DCC_LOCK_FETCH ||
			    __dcc_fill_needed(dcc, lk))
				continue;
			__dcc_lock_drop(dcc, lk, 0, NULL);
			(*released)++;
		}
	}
unlock:
	spin_unlock_irq(&dcc->lock);
	if (*released)
		dcc_wake(dcc);
	return ret;
}

/*
 * Why @ranges may not be made invalid now, or 0: a fill holds one of their
 * regions (-EBUSY), or without @force one is dirty (-ENOTEMPTY: that would
 * throw away writes the peer has not seen).
 */
static int __dcc_invalid_refused(struct dcc *dcc, const struct dcc_range *ranges,
				 unsigned int n, bool force)
{
	struct dcc_lock *lk;
	unsigned int k;
	u64 end;

	lockdep_assert_held(&dcc->lock);
	for (k = 0; k < n; k++) {
		end = ranges[k].start + ranges[k].count;
		list_for_each_entry(lk, &dcc->locks, list)
			if (lk->region >= ranges[k].start && lk->region < end)
				return -EBUSY;
		if (!force && find_next_bit(dcc->dirty, end, ranges[k].start) < end)
			return -ENOTEMPTY;
	}
	return 0;
}

/* Clear the valid bits of @ranges, and with @force their dirty bits. */
static void __dcc_make_invalid(struct dcc *dcc, const struct dcc_range *ranges,
			       unsigned int n, bool force)
{
	unsigned int k;

	lockdep_assert_held(&dcc->lock);
	for (k = 0; k < n; k++) {
		__dcc_clear_valid_range(dcc, ranges[k].start, ranges[k].count);
		if (force)
			__dcc_clear_dirty_range(dcc, ranges[k].start,
						ranges[k].count);
	}
}

/* Mark ranges invalid, all or none, with one commit. */
int dcc_op_set_invalid(struct dcc *dcc, u32 portid, u64 reg_id,
		       const struct dcc_range *ranges, unsigned int n, bool force)
{
	int ret;

	ret = dcc_check_ranges(dcc, ranges, n, U64_MAX);
	if (ret)
		return ret;

	mutex_lock(&dcc->commit_mutex);
	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (!ret && dcc->mode != DCC_MODE_WRITE)
		ret = -EROFS;
	if (!ret)
		ret = __dcc_invalid_refused(dcc, ranges, n, force);
	if (ret) {
		spin_unlock_irq(&dcc->lock);
		mutex_unlock(&dcc->commit_mutex);
		return ret;
	}
	__dcc_make_invalid(dcc, ranges, n, force);
	spin_unlock_irq(&dcc->lock);
	ret = dcc_commit(dcc);
	mutex_unlock(&dcc->commit_mutex);
	dcc_state_changed(dcc);
	dcc_check_whole(dcc);
	return ret;
}

/*
 * Arm those of @ranges' regions that are dirty: the daemon is about to read
 * them for replication.  Returns how many were armed.
 */
int dcc_op_arm(struct dcc *dcc, u32 portid, u64 reg_id,
	       const struct dcc_range *ranges, unsigned int n, u64 *armed)
{
	u64 i, end, count = 0, steps = 0;
	unsigned int k;
	int ret;

	*armed = 0;
	ret = dcc_check_ranges(dcc, ranges, n, DCC_MAX_CLEARS_PER_REQUEST);
	if (ret)
		return ret;
	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id) ?: __dcc_mode_error(dcc);
	if (ret)
		goto out;
	for (k = 0; k < n; k++) {
		end = ranges[k].start + ranges[k].count;
		for (i = find_next_bit(dcc->dirty, end, ranges[k].start); i < end;
		     i = find_next_bit(dcc->dirty, end, i + 1)) {
			/* Atomic: completing writes disarm without the lock. */
			set_bit(i, dcc->armed);
			count++;
			dcc_relax_lock(dcc, &steps);
		}
	}
out:
	spin_unlock_irq(&dcc->lock);
	*armed = count;
	return ret;
}

/*
 * Take dirty region @r, if its bit is on disk, out of hot_dirty while its
 * writes in flight are drained (CLEAR_DIRTY, SET_ROLE's CLEAN): a write
 * that comes now takes the slow path, and clearing keeps __dcc_publish
 * from putting it back.  Returns whether it was taken.
 */
static bool __dcc_take_hot(struct dcc *dcc, u64 r)
{
	if (!test_bit(r, dcc->hot_dirty))
		return false;
	clear_bit(r, dcc->hot_dirty);
	__set_bit(r, dcc->clearing);
	return true;
}

/* A region taken and not cleared: hot again, its bit still on disk. */
static void __dcc_give_back_hot(struct dcc *dcc, u64 r)
{
	__clear_bit(r, dcc->clearing);
	/* A degraded target keeps hot_dirty empty. */
	if (dcc->mode == DCC_MODE_WRITE)
		set_bit(r, dcc->hot_dirty);
}

/*
 * After a CLEAR_DIRTY begun in sync mode drained the writes in flight, or
 * a SET_ROLE dropped every dirty bit: once no region is unconfirmed, a
 * sync volume holds no write acknowledged without the other site, and
 * DCC_SB_F_AHEAD goes with the next commit.  A write that took the fast
 * path as async entered its epoch before it read the mode, so before the
 * switch to sync was published, and so before such a CLEAR_DIRTY began:
 * the drain waits for it, and it marked its region unconfirmed before it
 * was submitted.  A commit that clears the flag writes the superblock
 * after the bitmap blocks: a crash in between leaves it set, the safe
 * side.
 */
static void __dcc_ahead_settle(struct dcc *dcc)
{
	lockdep_assert_held(&dcc->lock);
	if (dcc->sync && dcc->sb_ahead && !atomic64_read(&dcc->nr_unconfirmed)) {
		dcc->sb_ahead = false;
		dcc->sb_changed = true;
	}
}

/*
 * Clear the dirty bits of @ranges' regions that are armed and that no write
 * reached since they were armed.  Returns how many were cleared; they are
 * written by the next commit, after a flush of the data device.  With
 * @confirmed (nothing was pushed), only those whose every write the other
 * site confirmed: none unconfirmed, none held.
 *
 * The armed regions whose dirty bit is on disk leave hot_dirty first, so
 * that a new write to one of them takes the slow path, which disarms it.
 * Then the writes in flight, which passed the hot_dirty test before, are
 * drained (at most DCC_CLEAR_DRAIN_TIMEOUT; commits go on meanwhile).  A
 * region still armed after that was written by nobody: its bit is cleared.
 * Every other one goes back to hot_dirty, its bit still on disk.
 */
static int dcc_clear_dirty(struct dcc *dcc, u32 portid, u64 reg_id,
			   const struct dcc_range *ranges, unsigned int n,
			   bool confirmed, u64 *cleaned)
{
	struct dcc_bio *pb;
	u64 i, end, count = 0, taken = 0, steps = 0;
	bool was_sync = false;
	unsigned int k;
	int ret;

	*cleaned = 0;
	ret = dcc_check_ranges(dcc, ranges, n, DCC_MAX_CLEARS_PER_REQUEST);
	if (ret)
		return ret;

	mutex_lock(&dcc->clear_mutex);
	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id) ?: __dcc_mode_error(dcc);
	if (ret)
		goto unlock;
	was_sync = dcc->sync;
	for (k = 0; k < n; k++) {
		end = ranges[k].start + ranges[k].count;
		for (i = find_next_bit(dcc->armed, end, ranges[k].start); i < end;
		     i = find_next_bit(dcc->armed, end, i + 1)) {
			/* A bit not yet on disk belongs to a write in progress. */
			if (__dcc_take_hot(dcc, i))
				taken++;
			dcc_relax_lock(dcc, &steps);
		}
	}
	spin_unlock_irq(&dcc->lock);
	if (!taken)
		goto out;

	ret = dcc_epoch_drain(dcc);

	spin_lock_irq(&dcc->lock);
	if (!ret)
		ret = __dcc_mode_error(dcc);
	/*
	 * The drain saw every write that passed the hot_dirty test land; a
	 * sync write lands only once held, and one let go unconfirmed is
	 * marked before it lands or leaves sync_held.
	 */
	if (confirmed && !ret)
		list_for_each_entry(pb, &dcc->sync_held, sync_node)
			clear_bit(pb->region, dcc->armed);
	for (k = 0; k < n; k++) {
		end = ranges[k].start + ranges[k].count;
		/* Those a slow-path write or another clear took are gone. */
		for (i = find_next_bit(dcc->clearing, end, ranges[k].start); i < end;
		     i = find_next_bit(dcc->clearing, end, i + 1)) {
			if (!ret && test_bit(i, dcc->armed) &&
			    !(confirmed && test_bit(i, dcc->unconfirmed))) {
				clear_bit(i, dcc->armed);
				__dcc_clear_dirty(dcc, i, true);
				count++;
			} else {
				__dcc_give_back_hot(dcc, i);
			}
			dcc_relax_lock(dcc, &steps);
		}
	}
	if (!ret && was_sync)
		__dcc_ahead_settle(dcc);
unlock:
	spin_unlock_irq(&dcc->lock);
out:
	mutex_unlock(&dcc->clear_mutex);
	*cleaned = count;
	return ret;
}

int dcc_op_clear_dirty(struct dcc *dcc, u32 portid, u64 reg_id,
		       const struct dcc_range *ranges, unsigned int n,
		       u64 *cleaned)
{
	return dcc_clear_dirty(dcc, portid, reg_id, ranges, n, false, cleaned);
}

int dcc_op_clear_confirmed(struct dcc *dcc, u32 portid, u64 reg_id,
			   const struct dcc_range *ranges, unsigned int n,
			   u64 *cleaned)
{
	return dcc_clear_dirty(dcc, portid, reg_id, ranges, n, true, cleaned);
}

/*
 * SET_ROLE's CLEAN, first step: take the dirty regions whose bit is on
 * disk out of hot_dirty (into clearing, which keeps __dcc_publish off
 * them), as CLEAR_DIRTY does, so that a write that comes after this sees
 * the slow path, where a target that serves nothing refuses it.  The
 * drain that follows waits for those that passed before.  Returns whether
 * any was taken.
 */
static bool __dcc_clean_begin(struct dcc *dcc)
{
	u64 i, steps = 0;
	bool taken = false;

	lockdep_assert_held(&dcc->commit_mutex);
	lockdep_assert_held(&dcc->lock);
	for (i = find_first_bit(dcc->dirty, dcc->nr_regions); i < dcc->nr_regions;
	     i = find_next_bit(dcc->dirty, dcc->nr_regions, i + 1)) {
		taken |= __dcc_take_hot(dcc, i);
		dcc_relax_lock(dcc, &steps);
	}
	return taken;
}

/* A CLEAN that failed: the regions it took are hot again, as they were. */
static void __dcc_clean_undo(struct dcc *dcc)
{
	u64 i, steps = 0;

	lockdep_assert_held(&dcc->commit_mutex);
	lockdep_assert_held(&dcc->lock);
	for (i = find_first_bit(dcc->clearing, dcc->nr_regions); i < dcc->nr_regions;
	     i = find_next_bit(dcc->clearing, dcc->nr_regions, i + 1)) {
		__dcc_give_back_hot(dcc, i);
		dcc_relax_lock(dcc, &steps);
	}
}

/* Drop every dirty bit (SET_ROLE's CLEAN). */
static void __dcc_drop_dirty(struct dcc *dcc)
{
	u64 i, steps = 0;

	lockdep_assert_held(&dcc->lock);
	for (i = find_first_bit(dcc->dirty, dcc->nr_regions); i < dcc->nr_regions;
	     i = find_next_bit(dcc->dirty, dcc->nr_regions, i + 1)) {
		clear_bit(i, dcc->armed);
		__dcc_clear_dirty(dcc, i, false);
		dcc_relax_lock(dcc, &steps);
	}
}

/*
 * Change role, generation, origin and split, and make @n @ranges invalid
 * as SET_INVALID does (with @force, their dirty bits go too); with @clean
 * (role replica, from a target whose committed role is not owner, which
 * serves no writes) drop every dirty bit.  Writes acknowledged under the
 * old role are made durable first (a data flush), then the bitmaps and the
 * superblock are committed (the superblock last: a power cut may leave the
 * bitmaps changed and the role not, never the reverse); the target acts on
 * the new values, and shows them, only once that succeeded.  On any
 * failure before the commit everything stays as it was; a failed commit
 * fails the device (dcc_commit).
 */
int dcc_op_set_role(struct dcc *dcc, u32 portid, u64 reg_id,
		    const struct dcc_role_state *rs,
		    const struct dcc_range *ranges, unsigned int n, bool force,
		    bool clean)
{
	bool serves_changed = false, taken = false, ahead;
	int ret;

	if (!dcc_role_state_valid(rs) || (clean && rs->role != DCC_ROLE_REPLICA))
		return -EINVAL;
	ret = dcc_check_ranges(dcc, ranges, n, U64_MAX);
	if (ret)
		return ret;
	/* CLEAN: no CLEAR_DIRTY meanwhile, and no commit publishes a bit. */
	if (clean)
		mutex_lock(&dcc->clear_mutex);
	mutex_lock(&dcc->commit_mutex);
	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (!ret && rs->generation < dcc->rs.generation)
		ret = -ESTALE;
	if (!ret)
		ret = __dcc_mode_error(dcc);
	if (!ret)
		ret = __dcc_invalid_refused(dcc, ranges, n, force);
	/* An owner may be serving writes: their dirty bits are not ours to drop. */
	if (!ret && clean && dcc->rs.role == DCC_ROLE_OWNER)
		ret = -EBUSY;
	if (!ret && clean)
		taken = __dcc_clean_begin(dcc);
	spin_unlock_irq(&dcc->lock);
	if (ret)
		goto out;
	/*
	 * The writes that passed the hot_dirty test end first (at most about
	 * a second, two after a drain that timed out).  None waits for a
	 * commit, so commit_mutex may be held.
	 */
	if (taken) {
		ret = dcc_epoch_drain(dcc);
		if (ret)
			goto undo;
	}

	ret = blkdev_issue_flush(dcc->data_dev->bdev);
	if (ret) {
		DMERR_LIMIT("%u:%u: data device flush failed (%d): role not changed",
			    MAJOR(dcc->md_dev), MINOR(dcc->md_dev), ret);
		goto undo;
	}
	spin_lock_irq(&dcc->lock);
	/*
	 * The daemon may have gone, or a fill begun, during the flush: look
	 * again.
	 */
	ret = __dcc_check_reg(dcc, portid, reg_id) ?:
	      __dcc_invalid_refused(dcc, ranges, n, force);
	if (ret) {
		spin_unlock_irq(&dcc->lock);
		goto undo;
	}
	__dcc_make_invalid(dcc, ranges, n, force);
	ahead = dcc->sb_ahead;
	if (clean) {
		__dcc_drop_dirty(dcc);
		/* (Writes in flight were drained, or none had a bit on disk.) */
		__dcc_ahead_settle(dcc);
	}
	dcc->sb_rs = *rs;
	dcc->sb_changed = true;
	spin_unlock_irq(&dcc->lock);

	ret = dcc_commit(dcc);

	spin_lock_irq(&dcc->lock);
	if (!ret) {
		serves_changed = dcc->rs.role != rs->role || dcc->rs.split != rs->split;
		dcc->rs = *rs;
		WRITE_ONCE(dcc->serves, dcc_role_state_serves(rs));
	} else {
		dcc->sb_rs = dcc->rs;
		dcc->sb_ahead = ahead;
	}
	spin_unlock_irq(&dcc->lock);
	goto out;
undo:
	if (clean) {
		spin_lock_irq(&dcc->lock);
		__dcc_clean_undo(dcc);
		spin_unlock_irq(&dcc->lock);
	}
out:
	mutex_unlock(&dcc->commit_mutex);
	if (clean)
		mutex_unlock(&dcc->clear_mutex);
	if (!ret) {
		dcc_state_changed(dcc);
		if (serves_changed)
			dcc_uevent(dcc);
		/* Bios held for a lease end as all others once it serves no more. */
		dcc_wake(dcc);
	}
	if (n)
		dcc_check_whole(dcc);
	return ret;
}

/* Let bios run until @end (boottime ns); the worker sends on the held ones. */
static void __dcc_grant_lease(struct dcc *dcc, u64 end)
{
	WRITE_ONCE(dcc->lease_end, end);
}

/*
 * Grant a lease that ends @ms milliseconds from now (0: it ends now), or
 * with DCC_LEASE_NONE clear the flag: no lease needed.  A change of the
 * flag is committed first, and shows only once that succeeded.  A lease
 * alone changes no metadata, so it needs no commit_mutex: a renewal never
 * waits for a commit in progress.
 */
int dcc_op_set_lease(struct dcc *dcc, u32 portid, u64 reg_id, u32 ms)
{
	bool want = ms != DCC_LEASE_NONE, changed = false, lapsed, tell;
	u64 end;
	int ret;

	if (want && ms > DCC_LEASE_MAX_MS)
		return -EINVAL;
	/*
	 * The end, counted from before any wait, so that the lease never
	 * runs longer than the daemon asked.  The coarse clock (a tick's
	 * resolution, as jiffies) here and in dcc_lease_lapsed(): no clock
	 * source read on the bio path.
	 */
	end = ktime_get_coarse_boottime_ns() + (want ? (u64)ms * NSEC_PER_MSEC : 0);
	spin_lock_irq(&dcc->lock);
	lapsed = dcc_lease_lapsed(dcc);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (!ret && dcc->lease == want) {
		if (want)
			__dcc_grant_lease(dcc, end);
		spin_unlock_irq(&dcc->lock);
		goto out;
	}
	spin_unlock_irq(&dcc->lock);
	if (ret)
		return ret;

	mutex_lock(&dcc->commit_mutex);
	spin_lock_irq(&dcc->lock);
	/* Another SET_LEASE may have changed the flag meanwhile. */
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (!ret && dcc->lease != want) {
		ret = __dcc_mode_error(dcc);
		if (!ret) {
			dcc->sb_lease = want;
			dcc->sb_changed = true;
			changed = true;
		}
	} else if (!ret && want) {
		__dcc_grant_lease(dcc, end);
	}
	spin_unlock_irq(&dcc->lock);
	if (changed) {
		ret = dcc_commit(dcc);
		spin_lock_irq(&dcc->lock);
		if (!ret) {
			if (want)
				__dcc_grant_lease(dcc, end);
			WRITE_ONCE(dcc->lease, want);
		} else {
			dcc->sb_lease = dcc->lease;
		}
		spin_unlock_irq(&dcc->lock);
	}
	mutex_unlock(&dcc->commit_mutex);
	if (ret)
		return ret;
	if (changed) {
		DMINFO("%u:%u: lease flag %s", MAJOR(dcc->md_dev),
		       MINOR(dcc->md_dev), want ?
		       "set: serves only under a lease" :
		       "cleared: serves without a lease");
		dcc_state_changed(dcc);
	}
out:
	/*
	 * A target that serves and waited for a lease serves reads at once
	 * from now on: udev looks again (a renewal in time tells it nothing).
	 */
	spin_lock_irq(&dcc->lock);
	tell = lapsed && dcc->serves && !dcc_lease_lapsed(dcc);
	spin_unlock_irq(&dcc->lock);
	if (tell)
		dcc_uevent(dcc);
	dcc_wake(dcc);
	return 0;
}

/*
 * Set or clear DCC_SB_F_SYNC, committed first.  Clearing it completes the
 * held writes: the daemon chose to go on without the other site (their
 * regions are dirty, so they are replicated later).
 */
int dcc_op_set_sync(struct dcc *dcc, u32 portid, u64 reg_id, bool want)
{
	struct bio_list done = BIO_EMPTY_LIST;
	struct dcc_bio *pb, *tmp;
	bool changed = false;
	struct bio *bio;
	int ret;

	mutex_lock(&dcc->commit_mutex);
	spin_lock_irq(&dcc->lock);
	ret = __dcc_check_reg(dcc, portid, reg_id);
	if (!ret && dcc->sync != want) {
		ret = __dcc_mode_error(dcc);
		if (!ret) {
			dcc->sb_sync = want;
			/*
			 * What async acknowledged alone is in dirty regions
			 * (a write waits for its dirty bit, so one in flight
			 * is there too): ahead until they are replicated.
			 */
			if (want && dcc->nr_dirty)
				dcc->sb_ahead = true;
			dcc->sb_changed = true;
			changed = true;
		}
	}
	spin_unlock_irq(&dcc->lock);
	if (changed) {
		ret = dcc_commit(dcc);
		spin_lock_irq(&dcc->lock);
		if (!ret) {
			WRITE_ONCE(dcc->sync, want);
			list_for_each_entry_safe(pb, tmp, &dcc->sync_held, sync_node) {
				dcc_unconfirmed(dcc, pb->region);
				list_del_init(&pb->sync_node);
				bio_list_add(&done, dm_bio_from_per_bio_data(pb, sizeof(*pb)));
			}
			dcc->nr_sync_held = 0;
		} else {
			dcc->sb_sync = dcc->sync;
		}
		spin_unlock_irq(&dcc->lock);
	}
	mutex_unlock(&dcc->commit_mutex);
	while ((bio = bio_list_pop(&done)))
		bio_endio(bio);
	if (ret || !changed)
		return ret;
	DMINFO("%u:%u: %s", MAJOR(dcc->md_dev), MINOR(dcc->md_dev),
	       want ? "synchronous replication: writes wait for the other site" :
	       "asynchronous replication");
	dcc_state_changed(dcc);
	return 0;
}

/*
 * Complete held writes by id, with EIO if @failed.  Unless @confirmed (the
 * other site holds them), their regions become unconfirmed.  Only the
 * registration number is checked: the daemon may answer from another
 * socket.
 */
int dcc_op_writes_done(struct dcc *dcc, u64 reg_id, const u64 *ids,
		       unsigned int n, bool failed, bool confirmed, u64 *count)
{
	struct bio_list done = BIO_EMPTY_LIST;
	bool alone = !failed && !confirmed, commit;
	struct dcc_bio *pb, *tmp;
	blk_status_t status = failed ? BLK_STS_IOERR : BLK_STS_OK;
	struct bio *bio;
	unsigned int i;
	int ret;

	*count = 0;
	/*
	 * Completed without the other site (the daemon goes on alone): the
	 * writes are acknowledged only once DCC_SB_F_AHEAD is on disk, so
	 * that a site that restarts still knows it may hold writes the
	 * other site lacks (see dcc_ahead_settle()).
	 */
	if (alone)
		mutex_lock(&dcc->commit_mutex);
	spin_lock_irq(&dcc->lock);
	if (!dcc->registered || dcc->reg_id != reg_id) {
		spin_unlock_irq(&dcc->lock);
		if (alone)
			mutex_unlock(&dcc->commit_mutex);
		return -ESTALE;
	}
	/* Answers come mostly in order: each is found near the head. */
	for (i = 0; i < n; i++) {
		list_for_each_entry_safe(pb, tmp, &dcc->sync_held, sync_node) {
			if (pb->sync_id > ids[i])
				break;
			if (pb->sync_id < ids[i])
				continue;
			list_del_init(&pb->sync_node);
			dcc->nr_sync_held--;
			if (failed || !confirmed)
				dcc_unconfirmed(dcc, pb->region);
			else
				pb->confirmed = true;
			bio_list_add(&done, dm_bio_from_per_bio_data(pb, sizeof(*pb)));
			(*count)++;
			break;
		}
	}
	if (alone && *count && !dcc->sb_ahead) {
		dcc->sb_ahead = true;
		dcc->sb_changed = true;
	}
	/* Set, and no superblock change waiting: it is on disk already. */
	commit = alone && *count && dcc->sb_changed;
	spin_unlock_irq(&dcc->lock);
	if (alone) {
		ret = commit ? dcc_commit(dcc) : 0;
		mutex_unlock(&dcc->commit_mutex);
		if (ret)
			status = BLK_STS_IOERR;
	}
	while ((bio = bio_list_pop(&done))) {
		bio->bi_status = status;
		bio_endio(bio);
	}
	return 0;
}

/* Announce every held write again. */
int dcc_op_announce_writes(struct dcc *dcc, u64 reg_id)
{
	spin_lock_irq(&dcc->lock);
	if (!dcc->registered || dcc->reg_id != reg_id) {
		spin_unlock_irq(&dcc->lock);
		return -ESTALE;
	}
	dcc->sync_announced = 0;
	dcc->sync_round++;
	spin_unlock_irq(&dcc->lock);
	dcc_wake(dcc);
	return 0;
}

/* A consistent copy of the committed role state, the mode and the flags. */
void dcc_get_role_state(struct dcc *dcc, struct dcc_role_state *rs,
			enum dcc_mode *mode, bool *lease, bool *sync)
{
	unsigned long flags;

	spin_lock_irqsave(&dcc->lock, flags);
	*rs = dcc->rs;
	*mode = dcc->mode;
	*lease = dcc->lease;
	*sync = dcc->sync;
	spin_unlock_irqrestore(&dcc->lock, flags);
}

/* ------------------------------------------------------------------------ */
/* Target lookup for netlink                                                 */
/* ------------------------------------------------------------------------ */

struct dcc *dcc_get(u32 major, u32 minor)
{
	dev_t dev;
	struct dcc *dcc, *found = NULL;

	if (major > 4095 || minor > MINORMASK)
		return NULL;
	dev = MKDEV(major, minor);
	mutex_lock(&dcc_targets_mutex);
	list_for_each_entry(dcc, &dcc_targets, node) {
		if (dcc->md_dev == dev) {
			atomic_inc(&dcc->nl_refs);
			found = dcc;
			break;
		}
	}
	mutex_unlock(&dcc_targets_mutex);
	return found;
}

/*
 * The last reference may wake dcc_unlist(), whose caller then frees @dcc:
 * wake_up_var() only hashes the address, it never touches @dcc (a wait
 * queue inside it could be freed between the decrement and the wake-up).
 */
void dcc_put(struct dcc *dcc)
{
	if (atomic_dec_and_test(&dcc->nl_refs))
		wake_up_var(&dcc->nl_refs);
}

static void dcc_unlist(struct dcc *dcc)
{
	mutex_lock(&dcc_targets_mutex);
	if (dcc->listed) {
		list_del(&dcc->node);
		dcc->listed = false;
	}
	mutex_unlock(&dcc_targets_mutex);
	wait_var_event(&dcc->nl_refs, !atomic_read(&dcc->nl_refs));
}

/* ------------------------------------------------------------------------ */
/* Constructor and destructor                                                */
/* ------------------------------------------------------------------------ */

static int parse_devices(struct dcc *dcc, struct dm_arg_set *as, char **error)
{
	struct dm_target *ti = dcc->ti;
	int r;

	r = dm_get_device(ti, dm_shift_arg(as), dm_table_get_mode(ti->table),
			  &dcc->data_dev);
	if (r) {
		*error = "Error opening data device";
		return r;
	}
	r = dm_get_device(ti, dm_shift_arg(as), dm_table_get_mode(ti->table),
			  &dcc->meta_dev);
	if (r) {
		*error = "Error opening metadata device";
		return r;
	}
	if (dcc->data_dev->bdev == dcc->meta_dev->bdev) {
		*error = "Data and metadata devices must be different";
		return -EINVAL;
	}
	return 0;
}

/*
 * Two targets on one metadata device would overwrite each other's bitmaps,
 * and a device that is one target's data and another's metadata is worse:
 * refuse a data or metadata device that another constructed dcc target
 * (loaded, resumed or not) holds as either.  A new table for the same dm
 * device is a reload, which takes over from the old table on resume.
 */
static int dcc_claim_devices(struct dcc *dcc, char **error)
{
	static char *const why[2][2] = {
		{ "Data device is in use as the data device of another dcc target",
		  "Data device is in use as the metadata device of another dcc target" },
		{ "Metadata device is in use as the data device of another dcc target",
		  "Metadata device is in use as the metadata device of another dcc target" },
	};
	dev_t mine[2] = { dcc->data_dev->bdev->bd_dev, dcc->meta_dev->bdev->bd_dev };
	struct dcc *d;
	int i, j;

	mutex_lock(&dcc_targets_mutex);
	list_for_each_entry(d, &dcc_all_targets, all_node) {
		dev_t theirs[2] = { d->data_dev->bdev->bd_dev, d->meta_dev->bdev->bd_dev };

		if (d->md_dev == dcc->md_dev)
			continue;
		for (i = 0; i < 2; i++) {
			for (j = 0; j < 2; j++) {
				if (mine[i] != theirs[j])
					continue;
				DMERR("%u:%u: %s device %u:%u is the %s device of dm device %u:%u",
				      MAJOR(dcc->md_dev), MINOR(dcc->md_dev),
				      i ? "metadata" : "data", MAJOR(mine[i]), MINOR(mine[i]),
				      j ? "metadata" : "data",
				      MAJOR(d->md_dev), MINOR(d->md_dev));
				mutex_unlock(&dcc_targets_mutex);
				*error = why[i][j];
				return -EBUSY;
			}
		}
	}
	list_add_tail(&dcc->all_node, &dcc_all_targets);
	mutex_unlock(&dcc_targets_mutex);
	return 0;
}

/* A number in a table line or message: decimal, no sign, no wrap, in range. */
static int dcc_parse_uint(const char *arg, unsigned int min, unsigned int max,
			  unsigned int *val)
{
	if (!arg || kstrtouint(arg, 10, val) || *val < min || *val > max)
		return -EINVAL;
	return 0;
}

static int parse_features(struct dcc *dcc, struct dm_arg_set *as, char **error)
{
	unsigned int argc, val;
	const char *name;

	if (!as->argc)
		return 0;
	/* Not dm_read_arg_group(): its sscanf("%u") wraps 4294967298 to 2. */
	if (dcc_parse_uint(dm_shift_arg(as), 0, 2, &argc) || argc > as->argc) {
		*error = "Invalid number of feature arguments";
		return -EINVAL;
	}
	while (argc) {
		name = dm_shift_arg(as);
		argc--;
		if (!strcasecmp(name, "miss_timeout")) {
			if (!argc) {
				*error = "Feature miss_timeout needs a value";
				return -EINVAL;
			}
			argc--;
			if (dcc_parse_uint(dm_shift_arg(as), 1, DCC_MAX_MISS_TIMEOUT,
					   &val)) {
				*error = "Invalid miss_timeout: need seconds from 1 to 86400";
				return -EINVAL;
			}
			dcc->miss_timeout = val;
		} else {
			*error = "Unrecognised feature argument";
			return -EINVAL;
		}
	}
	if (as->argc) {
		*error = "Too many arguments";
		return -EINVAL;
	}
	return 0;
}

static void dcc_free(struct dcc *dcc)
{
	mutex_lock(&dcc_targets_mutex);
	list_del_init(&dcc->all_node);
	mutex_unlock(&dcc_targets_mutex);
	if (dcc->wq)
		destroy_workqueue(dcc->wq);
	bioset_exit(&dcc->bs);
	mempool_exit(&dcc->lock_pool);
	dcc_meta_free(dcc);
	if (dcc->meta_dev)
		dm_put_device(dcc->ti, dcc->meta_dev);
	if (dcc->data_dev)
		dm_put_device(dcc->ti, dcc->data_dev);
	kfree(dcc);
}

/*
 * Construct a dcc target:
 *   dcc <data_dev> <meta_dev> [<#features> [miss_timeout <seconds>]]
 */
static int dcc_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct dcc *dcc;
	int r;

	if (argc < 2) {
		ti->error = "Invalid argument count: need <data_dev> <meta_dev> [<#features> ...]";
		return -EINVAL;
	}
	dcc = kzalloc(sizeof(*dcc), GFP_KERNEL);
	if (!dcc) {
		ti->error = "Cannot allocate dcc context";
		return -ENOMEM;
	}
	dcc->ti = ti;
	dcc->miss_timeout = DCC_DEFAULT_MISS_TIMEOUT;
	spin_lock_init(&dcc->lock);
	mutex_init(&dcc->commit_mutex);
	mutex_init(&dcc->clear_mutex);
	INIT_LIST_HEAD(&dcc->all_node);
	bio_list_init(&dcc->deferred);
	bio_list_init(&dcc->held);
	/* No lease yet: with the flag on disk, bios wait for the first one. */
	dcc->lease_end = ktime_get_coarse_boottime_ns();
	bio_list_init(&dcc->commit_wait);
	INIT_LIST_HEAD(&dcc->overwrite_start);
	INIT_LIST_HEAD(&dcc->overwrite_done);
	INIT_LIST_HEAD(&dcc->sync_held);
	INIT_LIST_HEAD(&dcc->locks);
	hash_init(dcc->lock_table);
	init_waitqueue_head(&dcc->epoch_wait);
	INIT_WORK(&dcc->worker, do_worker);
	INIT_DELAYED_WORK(&dcc->waker, do_waker);
	INIT_WORK(&dcc->uevent, do_uevent);
	dcc->md_dev = disk_devt(dm_disk(dm_table_get_md(ti->table)));

	r = parse_devices(dcc, &as, &ti->error);
	if (r)
		goto bad;
	r = dcc_claim_devices(dcc, &ti->error);
	if (r)
		goto bad;
	r = parse_features(dcc, &as, &ti->error);
	if (r)
		goto bad;
	r = dcc_meta_load(dcc, &ti->error);
	if (r)
		goto bad;
	r = dm_set_target_max_io_len(ti, dcc_region_sectors(dcc));
	if (r) {
		ti->error = "Cannot set max I/O length";
		goto bad;
	}
	r = mempool_init_kmalloc_pool(&dcc->lock_pool, 16, sizeof(struct dcc_lock));
	if (!r)
		r = bioset_init(&dcc->bs, 16, 0, 0);
	if (r) {
		ti->error = "Cannot allocate memory pools";
		goto bad;
	}
	dcc->wq = alloc_ordered_workqueue("dcc-%u:%u", WQ_MEM_RECLAIM,
					  MAJOR(dcc->md_dev), MINOR(dcc->md_dev));
	if (!dcc->wq) {
		r = -ENOMEM;
		ti->error = "Cannot allocate workqueue";
		goto bad;
	}

	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct dcc_bio);
	ti->private = dcc;
	return 0;
bad:
	dcc_free(dcc);
	return r;
}

static void dcc_dtr(struct dm_target *ti)
{
	struct dcc *dcc = ti->private;
	struct dcc_lock *lk, *tmp;
	struct bio_list failed = BIO_EMPTY_LIST;

	dcc_unlist(dcc);
	cancel_delayed_work_sync(&dcc->waker);
	flush_workqueue(dcc->wq);
	cancel_work_sync(&dcc->uevent);	/* the device is going: udev need not look */
	/*
	 * Suspended, so no bio waits and none is held (a suspend waits for
	 * them, or hands them back); only fills the daemon began are left.
	 */
	list_for_each_entry_safe(lk, tmp, &dcc->locks, list)
		__dcc_lock_drop(dcc, lk, BLK_STS_IOERR, &failed);
	bio_list_merge(&failed, &dcc->held);
	dcc_fail_bios(&failed, BLK_STS_IOERR);
	dcc_free(dcc);
}

/* ------------------------------------------------------------------------ */
/* I/O                                                                        */
/* ------------------------------------------------------------------------ */

static int dcc_map(struct dm_target *ti, struct bio *bio)
{
	struct dcc *dcc = ti->private;
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));
	sector_t sector, end;
	u64 r;

	pb->counted = false;
	pb->confirmed = false;
	bio_set_dev(bio, dcc->data_dev->bdev);
	if (unlikely(!bio_sectors(bio))) {
		/*
		 * An empty flush admits no data: it makes durable what was
		 * written under a lease, so it needs none (an fsync before a
		 * suspend must not wait for one).
		 */
		return DM_MAPIO_REMAPPED;
	}

	sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	bio->bi_iter.bi_sector = sector;
	r = sector >> dcc->region_shift;
	pb->region = r;
	end = (sector_t)(r + 1) << dcc->region_shift;
	if (unlikely(bio_end_sector(bio) > end))
		dm_accept_partial_bio(bio, end - sector);

	if (unlikely(!READ_ONCE(dcc->serves)))
		return DM_MAPIO_KILL;
	/* No lease runs: the worker holds the bio until one does. */
	if (dcc_lease_lapsed(dcc))
		goto defer;

	if (!op_is_write(bio_op(bio))) {
		if (likely(test_bit(r, dcc->hot_valid)))
			return DM_MAPIO_REMAPPED;
	} else {
		dcc_epoch_enter(dcc, &pb->epoch);
		/*
		 * The mode is read after the epoch is entered and the region
		 * found hot, as dcc_issue_write() does: a write that still
		 * sees async was counted before a switch to sync was
		 * published, so either its region was dirty when the switch
		 * set DCC_SB_F_AHEAD, or it is drained by any CLEAR_DIRTY
		 * begun in sync mode (see __dcc_ahead_settle()).
		 */
		if (likely(test_bit(r, dcc->hot_valid) &&
			   test_bit(r, dcc->hot_dirty))) {
			smp_rmb();
			if (!READ_ONCE(dcc->sync)) {
				pb->counted = true;
				/* Not held: never confirmed (a deferred one: issue_write). */
				dcc_unconfirmed(dcc, r);
				return DM_MAPIO_REMAPPED;
			}
		}
		dcc_epoch_exit(dcc, pb->epoch);
	}
defer:
	dcc_defer_bio(dcc, bio);
	return DM_MAPIO_SUBMITTED;
}

static int dcc_end_io(struct dm_target *ti, struct bio *bio,
		      blk_status_t *error)
{
	struct dcc *dcc = ti->private;
	struct dcc_bio *pb = dm_per_bio_data(bio, sizeof(struct dcc_bio));

	/* A write completed: the daemon's copy of the region is stale. */
	dcc_write_landed(dcc, pb);
	/*
	 * A write is admitted only under a lease, and acknowledged only under
	 * it too: once it ended, the other site may own the volume (its
	 * promise ends later, by the margin), and a write that completes now
	 * (a slow device, held writes let go by a switch to async) must not
	 * count as done here.  Its data may be on the device: an unconfirmed
	 * region, which pairing decides about.  A sync write the other site
	 * confirmed is held there, and completes.
	 */
	if (unlikely(!*error && op_is_write(bio_op(bio)) && bio_sectors(bio) &&
		     !pb->confirmed && dcc_lease_lapsed(dcc))) {
		*error = BLK_STS_IOERR;
		DMWARN_LIMIT("%u:%u: a write completed after the lease ended: failed",
			     MAJOR(dcc->md_dev), MINOR(dcc->md_dev));
	}
	return DM_ENDIO_DONE;
}

/* ------------------------------------------------------------------------ */
/* Suspend and resume                                                        */
/* ------------------------------------------------------------------------ */

static void dcc_presuspend(struct dm_target *ti)
{
	struct dcc *dcc = ti->private;
	struct bio_list requeue = BIO_EMPTY_LIST;
	struct dcc_lock *lk;

	if (!dm_noflush_suspending(ti))
		return;	/* waiting bios end by fill, lease or miss_timeout */
	/*
	 * A noflush suspend takes the waiting bios back into dm's queue, and
	 * any that would wait for a fill or a lease from now until resume.
	 */
	spin_lock_irq(&dcc->lock);
	dcc->requeue_misses = true;
	list_for_each_entry(lk, &dcc->locks, list) {
		if (lk->type != DCC_LOCK_FETCH)
			continue;
		bio_list_merge(&requeue, &lk->waiters);
		bio_list_init(&lk->waiters);
	}
	bio_list_merge(&requeue, &dcc->held);
	bio_list_init(&dcc->held);
	spin_unlock_irq(&dcc->lock);
	dcc_fail_bios(&requeue, BLK_STS_DM_REQUEUE);
}

/*
 * A suspend that was interrupted (its caller got a signal while dm waited
 * for the bios in flight): misses wait for fills again, as in any resumed
 * table, instead of being handed back to a dm that no longer suspends.
 */
static void dcc_presuspend_undo(struct dm_target *ti)
{
	struct dcc *dcc = ti->private;

	spin_lock_irq(&dcc->lock);
	dcc->requeue_misses = false;
	spin_unlock_irq(&dcc->lock);
}

static void dcc_postsuspend(struct dm_target *ti)
{
	struct dcc *dcc = ti->private;

	cancel_delayed_work_sync(&dcc->waker);
	flush_workqueue(dcc->wq);
	mutex_lock(&dcc->commit_mutex);
	dcc_commit(dcc);
	mutex_unlock(&dcc->commit_mutex);
}

/*
 * Carry the fills the daemon has in progress in @old (FETCH locks; the
 * suspend left them no waiters) over to @dcc, which reads the metadata
 * @old committed.  Otherwise a fill in flight would write the data device
 * with no lock, over whatever the new table let through meanwhile.
 * Called with dcc_targets_mutex and @old's commit_mutex held.
 */
static void dcc_take_fills(struct dcc *dcc, struct dcc *old)
{
	struct dcc_lock *lk, *tmp, *spare;
	unsigned int nr = 0, i;
	LIST_HEAD(spares);
	u64 r;

	spin_lock_irq(&old->lock);
	list_for_each_entry(lk, &old->locks, list)
		if (lk->type == DCC_LOCK_FETCH && bio_list_empty(&lk->waiters))
			nr++;
	spin_unlock_irq(&old->lock);
	if (!nr)
		return;

	/*
	 * No FILL_BEGIN adds one now: @old's registration has moved.  The
	 * locks move in one step under both targets' locks (@old first, the
	 * only place that takes two), with nothing to allocate there.
	 */
	for (i = 0; i < nr; i++) {
		lk = dcc_lock_alloc(dcc);
		list_add(&lk->list, &spares);
	}
	spin_lock_irq(&old->lock);
	spin_lock_nested(&dcc->lock, SINGLE_DEPTH_NESTING);
	list_for_each_entry_safe(lk, tmp, &old->locks, list) {
		if (lk->type != DCC_LOCK_FETCH || !bio_list_empty(&lk->waiters) ||
		    list_empty(&spares))
			continue;
		r = lk->region;
		__dcc_lock_drop(old, lk, 0, NULL);
		if (test_bit(r, dcc->valid) || __dcc_lock_find(dcc, r))
			continue;
		spare = list_first_entry(&spares, struct dcc_lock, list);
		list_del(&spare->list);
		__dcc_lock_insert(dcc, spare, r, DCC_LOCK_FETCH);
	}
	spin_unlock(&dcc->lock);
	spin_unlock_irq(&old->lock);

	list_for_each_entry_safe(lk, tmp, &spares, list) {
		list_del(&lk->list);
		dcc_lock_free(dcc, lk);
	}
}

static int dcc_preresume(struct dm_target *ti)
{
	struct dcc *dcc = ti->private, *old = NULL, *d;
	int r = 0;

	mutex_lock(&dcc_targets_mutex);
	if (!dcc->listed) {
		list_for_each_entry(d, &dcc_targets, node)
			if (d->md_dev == dcc->md_dev)
				old = d;
		if (old) {
			/*
			 * A new table replaces a suspended one: take its state
			 * from disk, where it was committed, the daemon's
			 * registration and the fills it has in progress.  The
			 * old table's commit_mutex keeps FILL_DONE, SET_INVALID
			 * and SET_ROLE from changing the disk meanwhile.
			 */
			mutex_lock(&old->commit_mutex);
			r = dcc_meta_read(dcc, &ti->error);
			if (r) {
				mutex_unlock(&old->commit_mutex);
				DMERR("%s", ti->error);
				goto out;
			}
			spin_lock_irq(&old->lock);
			dcc->registered = old->registered;
			dcc->reg_portid = old->reg_portid;
			dcc->reg_id = old->reg_id;
			old->registered = false;
			old->retired = true;
			/* The daemon's lease is the device's: it ends as it would have. */
			dcc->lease_end = old->lease_end;
			spin_unlock_irq(&old->lock);
			/* With no daemon, no fill is coming for them. */
			if (dcc->registered)
				dcc_take_fills(dcc, old);
			mutex_unlock(&old->commit_mutex);
			list_del(&old->node);
			old->listed = false;
		}
		list_add_tail(&dcc->node, &dcc_targets);
		dcc->listed = true;
	}
out:
	mutex_unlock(&dcc_targets_mutex);
	return r;
}

static void dcc_resume(struct dm_target *ti)
{
	struct dcc *dcc = ti->private;

	spin_lock_irq(&dcc->lock);
	dcc->requeue_misses = false;
	spin_unlock_irq(&dcc->lock);
	queue_delayed_work(dcc->wq, &dcc->waker, DCC_COMMIT_PERIOD);
	dcc_wake(dcc);
}

/* ------------------------------------------------------------------------ */
/* Status and messages                                                       */
/* ------------------------------------------------------------------------ */

static const char *dcc_role_name(enum dcc_role role)
{
	switch (role) {
	case DCC_ROLE_OWNER:
		return "owner";
	case DCC_ROLE_REPLICA:
		return "replica";
	case DCC_ROLE_YIELDING:
		return "yielding";
	default:
		return "none";
	}
}

static const char *dcc_mode_name(enum dcc_mode mode)
{
	return mode == DCC_MODE_WRITE ? "rw" :
	       mode == DCC_MODE_READ_ONLY ? "ro" : "fail";
}

static const char *dcc_origin_name(enum dcc_origin origin)
{
	return origin == DCC_ORIGIN_FAILOVER ? "failover" :
	       origin == DCC_ORIGIN_FORCED ? "forced" :
	       origin == DCC_ORIGIN_RESOLVED ? "resolved" : "handover";
}

static const char *dcc_split_name(enum dcc_split split)
{
	return split == DCC_SPLIT_OLD ? "old" :
	       split == DCC_SPLIT_NEW ? "new" : "-";
}

static const char *dcc_lease_name(bool lease, bool lapsed)
{
	return !lease ? "-" : lapsed ? "expired" : "held";
}

/*
 * Status line (INFO):
 *   <region sectors> <valid>/<regions> <dirty> <locked> <role>
 *   <generation> <mode> <registration|-> <misses> <timeouts>
 *   <origin> <split|-> <lease|-> <held writes|-> <unconfirmed>
 */
static void dcc_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct dcc *dcc = ti->private;
	unsigned int sz = 0;
	u64 nr_valid, nr_dirty, reg_id, misses, timeouts, unconfirmed;
	struct dcc_role_state rs;
	unsigned int nr_locks, nr_waiting = 0;
	struct dcc_lock *lk;
	struct bio *bio;
	enum dcc_mode mode;
	bool registered, lease, lapsed, sync;
	unsigned int nr_held;

	spin_lock_irq(&dcc->lock);
	lease = dcc->lease;
	sync = dcc->sync;
	nr_held = dcc->nr_sync_held;
	lapsed = dcc_lease_lapsed(dcc);
	nr_valid = dcc->nr_valid;
	nr_dirty = dcc->nr_dirty;
	nr_locks = dcc->nr_locks;
	rs = dcc->rs;
	mode = dcc->mode;
	registered = dcc->registered;
	reg_id = dcc->reg_id;
	misses = dcc->nr_misses;
	timeouts = dcc->nr_timeouts;
	/* (At most the bios in flight: counted, not kept count of.) */
	if (type == STATUSTYPE_INFO) {
		list_for_each_entry(lk, &dcc->locks, list)
			bio_list_for_each(bio, &lk->waiters)
				nr_waiting++;
		bio_list_for_each(bio, &dcc->held)
			nr_waiting++;
	}
	spin_unlock_irq(&dcc->lock);
	unconfirmed = atomic64_read(&dcc->nr_unconfirmed);

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%llu %llu/%llu %llu %u %s %llu %s ",
		       (unsigned long long)dcc_region_sectors(dcc), nr_valid,
		       dcc->nr_regions, nr_dirty, nr_locks, dcc_role_name(rs.role),
		       rs.generation, dcc_mode_name(mode));
		if (registered)
			DMEMIT("%llu", reg_id);
		else
			DMEMIT("-");
		DMEMIT(" %llu %llu %s %s %s", misses, timeouts,
		       dcc_origin_name(rs.origin), dcc_split_name(rs.split),
		       dcc_lease_name(lease, lapsed));
		if (sync)
			DMEMIT(" %u", nr_held);
		else
			DMEMIT(" -");
		DMEMIT(" %llu %u", unconfirmed, nr_waiting);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s", dcc->data_dev->name, dcc->meta_dev->name);
		if (dcc->miss_timeout != DCC_DEFAULT_MISS_TIMEOUT)
			DMEMIT(" 2 miss_timeout %u", dcc->miss_timeout);
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",data_dev=%s,meta_dev=%s,region_sectors=%llu,uuid=%pUb",
		       dcc->data_dev->name, dcc->meta_dev->name,
		       (unsigned long long)dcc_region_sectors(dcc), dcc->uuid);
		DMEMIT(",role=%s,generation=%llu,mode=%s,miss_timeout=%u",
		       dcc_role_name(rs.role), rs.generation, dcc_mode_name(mode),
		       dcc->miss_timeout);
		DMEMIT(",origin=%s,split=%s,lease=%s,sync=%s;",
		       dcc_origin_name(rs.origin), dcc_split_name(rs.split),
		       dcc_lease_name(lease, lapsed), sync ? "on" : "off");
		break;
	}
}

/*
 * Fail (fail_pending) or restart the wait of (requeue_pending) waiting
 * bios, those held for a lease too.
 */
static void dcc_msg_pending(struct dcc *dcc, bool fail)
{
	struct bio_list failed = BIO_EMPTY_LIST;
	struct dcc_lock *lk, *tmp;
	struct bio *bio;

	spin_lock_irq(&dcc->lock);
	if (fail) {
		bio_list_merge(&failed, &dcc->held);
		bio_list_init(&dcc->held);
	}
	bio_list_for_each(bio, &dcc->held)
		__dcc_hold_from_now(dcc, bio);
	list_for_each_entry_safe(lk, tmp, &dcc->locks, list) {
		if (lk->type != DCC_LOCK_FETCH)
			continue;
		if (!fail) {
			lk->deadline = jiffies + dcc->miss_timeout * HZ;
			lk->notify = true;
			dcc->notify_owed = true;
		} else if (dcc->registered) {
			bio_list_merge(&failed, &lk->waiters);
			bio_list_init(&lk->waiters);
		} else {
			__dcc_lock_drop(dcc, lk, BLK_STS_IOERR, &failed);
		}
	}
	spin_unlock_irq(&dcc->lock);
	dcc_fail_bios(&failed, BLK_STS_IOERR);
	dcc_wake(dcc);
}

static int dcc_message(struct dm_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	struct dcc *dcc = ti->private;
	unsigned int val;

	if (argc == 1 && !strcasecmp(argv[0], "fail_pending")) {
		dcc_msg_pending(dcc, true);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "requeue_pending")) {
		dcc_msg_pending(dcc, false);
		return 0;
	}
	if (argc == 2 && !strcasecmp(argv[0], "miss_timeout")) {
		if (dcc_parse_uint(argv[1], 1, DCC_MAX_MISS_TIMEOUT, &val)) {
			DMERR("invalid miss_timeout '%s': need seconds from 1 to 86400",
			      argv[1]);
			return -EINVAL;
		}
		WRITE_ONCE(dcc->miss_timeout, val);
		dm_table_event(ti->table);
		return 0;
	}
	DMERR("unsupported message '%s' with %u argument(s)",
	      argc ? argv[0] : "", argc);
	return -EINVAL;
}

static int dcc_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct dcc *dcc = ti->private;

	return fn(ti, dcc->data_dev, 0, ti->len, data);
}

static struct target_type dcc_target = {
	.name = "dcc",
	.version = {1, 0, 0},
	.module = THIS_MODULE,
	.ctr = dcc_ctr,
	.dtr = dcc_dtr,
	.map = dcc_map,
	.end_io = dcc_end_io,
	.presuspend = dcc_presuspend,
	.presuspend_undo = dcc_presuspend_undo,
	.postsuspend = dcc_postsuspend,
	.preresume = dcc_preresume,
	.resume = dcc_resume,
	.status = dcc_status,
	.message = dcc_message,
	.iterate_devices = dcc_iterate_devices,
};

static int __init dm_dcc_init(void)
{
	int r;

	r = dcc_netlink_init();
	if (r)
		return r;
	r = dm_register_target(&dcc_target);
	if (r) {
		dcc_netlink_exit();
		return r;
	}
	return 0;
}

static void __exit dm_dcc_exit(void)
{
	dm_unregister_target(&dcc_target);
	dcc_netlink_exit();
}

module_init(dm_dcc_init);
module_exit(dm_dcc_exit);

MODULE_DESCRIPTION(DM_NAME " target keeping two sites' copies of a volume coherent");
MODULE_AUTHOR("The dcc developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DCC_VERSION);

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-dcc: internal definitions shared by the target, metadata and netlink
 * parts of the module.
 */
#ifndef DM_DCC_H
#define DM_DCC_H

#include <linux/bio.h>
#include <linux/device-mapper.h>
#include <linux/hashtable.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/dm-dcc.h>

#define DM_MSG_PREFIX "dcc"

#define DCC_DEFAULT_MISS_TIMEOUT 30	/* seconds */
#define DCC_MAX_MISS_TIMEOUT	86400
#define DCC_COMMIT_PERIOD	HZ
#define DCC_COMMIT_BATCH	64	/* metadata blocks per commit round */
/* How long CLEAR_DIRTY waits for the writes in flight before giving up. */
#define DCC_CLEAR_DRAIN_TIMEOUT	HZ

enum dcc_lock_type {
	DCC_LOCK_FETCH,		/* waiting for the daemon to fill the region */
	DCC_LOCK_OVERWRITE,	/* a write covering the whole region is in flight */
};

/*
 * A locked region.  Every bio to a locked region waits on ->waiters, so a
 * fill can never land on top of newer data and nothing reads a region that
 * is being filled.
 */
struct dcc_lock {
	struct dcc *dcc;
	struct hlist_node hnode;
	struct list_head list;		/* dcc->locks */
	struct list_head work;		/* dcc->overwrite_start / _done */
	u64 region;
	enum dcc_lock_type type;
	bool notify;			/* a MISS event is owed to the daemon */
	unsigned long deadline;		/* jiffies; when the waiters fail */
	struct bio_list waiters;
	struct bio *owner_bio;		/* OVERWRITE: the write itself */
	unsigned int epoch;		/* OVERWRITE: write epoch of the clone */
	blk_status_t status;		/* OVERWRITE: result of the clone */
};

/*
 * What SET_ROLE sets and the superblock records together: the role, the
 * generation and how it began, and whether a split brain was recorded.
 */
struct dcc_role_state {
	enum dcc_role role;
	u64 generation;
	enum dcc_origin origin;
	enum dcc_split split;
	u64 split_generation;	/* DCC_SPLIT_OLD: see dcc_split_generation_fits() */
};

/*
 * The newer owner's generation recorded with a split brain is above this
 * site's, or equal when this site was yielding the very generation the
 * newer owner took by force; without a split it is 0.
 */
static inline bool dcc_split_generation_fits(u32 role, u32 split, u64 split_generation,
					     u64 generation)
{
	if (split != DCC_SPLIT_OLD)
		return !split_generation;
	return split_generation > generation ||
	       (role == DCC_ROLE_YIELDING && split_generation == generation);
}

static inline bool dcc_role_state_valid(const struct dcc_role_state *rs)
{
	if (rs->role < DCC_ROLE_OWNER || rs->role > DCC_ROLE_YIELDING ||
	    rs->origin > DCC_ORIGIN_RESOLVED || rs->split > DCC_SPLIT_NEW)
		return false;
	return dcc_split_generation_fits(rs->role, rs->split, rs->split_generation,
					 rs->generation);
}

/* Only an owner that is not the old side of a split brain serves I/O. */
static inline bool dcc_role_state_serves(const struct dcc_role_state *rs)
{
	return rs->role == DCC_ROLE_OWNER && rs->split != DCC_SPLIT_OLD;
}

/* Per-bio data. */
struct dcc_bio {
	u64 region;
	unsigned int epoch;
	bool counted;			/* counted in dcc->inflight[epoch] */
	bool confirmed;			/* sync: the other site holds it */
	unsigned long deadline;		/* held: jiffies, when it fails */
	/* Held for the other site (sync): */
	struct dcc *dcc;		/* sync: for the clone's completion */
	u64 sync_id;
	struct list_head sync_node;	/* dcc->sync_held */
};

struct dcc {
	struct dm_target *ti;
	struct dm_dev *data_dev;
	struct dm_dev *meta_dev;
	dev_t md_dev;			/* the dm device, as netlink names it */

	/* From the superblock; fixed for the life of the target. */
	u8 uuid[16];
	sector_t data_sectors;
	u64 nr_regions;
	unsigned int region_shift;	/* log2(region_sectors) */
	u64 valid_start;
	u64 dirty_start;
	u64 bitmap_blocks;

	/* Protects what follows, up to commit_mutex. */
	spinlock_t lock;
	/*
	 * Protected by lock for writers.  valid and dirty are the state the
	 * next commit writes.  hot_valid and hot_dirty are the subsets known
	 * to be on disk; .map tests them without the lock, which is safe
	 * because a bit is only set there after it is durable and cleared
	 * before the durable copy changes.  armed marks dirty regions the
	 * daemon is about to read for replication (DCC_CMD_ARM); a write that
	 * completes in a region, or waits for its dirty bit, disarms it.
	 * clearing marks the regions a CLEAR_DIRTY (or SET_ROLE's CLEAN) took
	 * out of hot_dirty while it drains the writes in flight: their dirty
	 * bits are on disk, and no commit may put them back into hot_dirty
	 * meanwhile.
	 * unconfirmed (DCC_SET_UNCONFIRMED) marks the regions with a write
	 * that ended without the other site's confirmation since their dirty
	 * bit was cleared; set without the lock (test_and_set_bit, counted
	 * in nr_unconfirmed), cleared under it with the dirty bit, and loaded
	 * from the dirty bits.
	 */
	unsigned long *valid;
	unsigned long *dirty;
	unsigned long *hot_valid;
	unsigned long *hot_dirty;
	unsigned long *armed;
	unsigned long *clearing;
	unsigned long *unconfirmed;
	unsigned long *changed;		/* metadata blocks to write */
	/*
	 * Dirty-bitmap blocks in which a replicated region's bit was cleared:
	 * the data device is flushed before such a block is written.
	 */
	unsigned long *flush_before;
	bool sb_changed;
	u64 nr_valid;
	u64 nr_dirty;
	atomic64_t nr_unconfirmed;
	/*
	 * DCC_SB_F_AHEAD as the next commit writes it (see the uapi header);
	 * under lock.  A write completed unconfirmed waits for a commit that
	 * writes it set.
	 */
	bool sb_ahead;
	/* nr_dirty left 0 since the daemon was last told (EVENT_STATE) */
	bool first_dirty;
	bool told_whole;		/* udev last heard: every region valid */
	/*
	 * rs is what is committed, and all the target acts on; sb_rs is
	 * what the next commit writes (they differ only while a SET_ROLE
	 * commits).  serves is dcc_role_state_serves(&rs), which .map reads
	 * without the lock: one word, so that it never sees half of a change.
	 */
	struct dcc_role_state rs;
	struct dcc_role_state sb_rs;
	bool serves;
	/*
	 * The lease (DCC_SB_F_LEASE): lease as committed, sb_lease what the
	 * next commit writes (they differ only while a SET_LEASE commits).
	 * With lease set, a target that serves runs bios only before
	 * lease_end (CLOCK_BOOTTIME, ns: it counts on through a suspend of
	 * the host, as the other site's clock and the witness's do, where
	 * jiffies would stop); the others wait on held.  .map reads lease
	 * and lease_end without the lock, and only ever holds a bio after a
	 * second look under it.
	 */
	bool lease;
	bool sb_lease;
	u64 lease_end;
	struct bio_list held;		/* bios waiting for a lease */
	/*
	 * Synchronous replication (DCC_SB_F_SYNC), committed and next, as
	 * for the lease.  With sync set, a write that reached the data device
	 * waits on sync_held (in id order) until the daemon says the other
	 * site holds it, or until its deadline.  Ids up to sync_announced
	 * were sent in an EVENT_WRITTEN; ids come from a module-wide count.
	 */
	bool sync;
	bool sb_sync;
	struct list_head sync_held;
	unsigned int nr_sync_held;
	u64 sync_announced;
	struct dcc_written *sync_buf;	/* DCC_MAX_WRITES_PER_EVENT, for the worker */
	unsigned int sync_round;	/* grows with every ANNOUNCE_WRITES */
	enum dcc_mode mode;
	struct bio_list deferred;	/* bios from .map for the worker */
	struct bio_list commit_wait;	/* writes waiting for the next commit */
	struct list_head overwrite_start; /* locks whose write may start */
	struct list_head overwrite_done;  /* locks whose write completed */
	DECLARE_HASHTABLE(lock_table, 8);
	struct list_head locks;
	unsigned int nr_locks;
	bool notify_owed;
	bool requeue_misses;		/* noflush suspend: hand misses back to dm */
	bool registered;
	u32 reg_portid;
	u64 reg_id;
	unsigned int miss_timeout;	/* seconds */
	u64 nr_misses;
	u64 nr_timeouts;

	/* Serialises metadata commits. */
	struct mutex commit_mutex;
	void *commit_buf;		/* commit_batch blocks */
	u64 *commit_idx;
	unsigned int commit_batch;	/* DCC_COMMIT_BATCH, or fewer: all there are */
	struct dcc_disk_sb *sb_buf;

	/*
	 * Serialises CLEAR_DIRTY requests and SET_ROLE's CLEAN, and protects
	 * drain_broken (a drain timed out; see dcc_epoch_drain).  Taken
	 * before commit_mutex (only CLEAN holds both) and before lock.
	 */
	struct mutex clear_mutex;
	bool drain_broken;

	/* Write epochs: every write in flight is counted in one of two. */
	unsigned long epoch;
	atomic_t inflight[2];
	wait_queue_head_t epoch_wait;

	struct workqueue_struct *wq;
	struct work_struct worker;
	struct delayed_work waker;
	struct work_struct uevent;	/* a change uevent, off the I/O path */
	mempool_t lock_pool;
	struct bio_set bs;

	/* Protected by dcc_targets_mutex. */
	struct list_head node;		/* dcc_targets: resumed, netlink finds it */
	bool listed;
	struct list_head all_node;	/* dcc_all_targets: constructed */
	atomic_t nl_refs;		/* netlink handlers using this target */
	/*
	 * A new table took this one's place (preresume): the metadata is
	 * the new table's, this one commits nothing more.  Set and read
	 * under commit_mutex.
	 */
	bool retired;
};

static inline sector_t dcc_region_sectors(struct dcc *dcc)
{
	return (sector_t)1 << dcc->region_shift;
}

/* Length of region r; the last region of a volume may be short. */
static inline sector_t dcc_region_len(struct dcc *dcc, u64 r)
{
	sector_t start = (sector_t)r << dcc->region_shift;

	return min_t(sector_t, dcc_region_sectors(dcc), dcc->data_sectors - start);
}

/*
 * dm-dcc-metadata.c: the on-disk state.  These return errors and change
 * nothing but the bitmaps and the superblock image; the target decides
 * what a failure means (its mode) and raises the events.
 */
int dcc_meta_load(struct dcc *dcc, char **error);
int dcc_meta_read(struct dcc *dcc, char **error);
void dcc_meta_free(struct dcc *dcc);
int dcc_meta_commit(struct dcc *dcc);
int dcc_meta_check_readable(struct dcc *dcc);
void __dcc_set_valid(struct dcc *dcc, u64 r);
void __dcc_set_dirty(struct dcc *dcc, u64 r);
void __dcc_clear_valid_range(struct dcc *dcc, u64 r, u64 count);
void __dcc_clear_dirty_range(struct dcc *dcc, u64 r, u64 count);
void __dcc_clear_dirty(struct dcc *dcc, u64 r, bool replicated);
void __dcc_mark_changed(struct dcc *dcc, unsigned long *bitmap, u64 r);

/* dm-dcc-target.c */
struct dcc *dcc_get(u32 major, u32 minor);
void dcc_put(struct dcc *dcc);
void dcc_wake(struct dcc *dcc);
void dcc_state_changed(struct dcc *dcc);

struct dcc_range {
	u64 start;
	u64 count;
};

int dcc_op_register(struct dcc *dcc, u32 portid, u64 *reg_id);
int dcc_op_unregister(struct dcc *dcc, u32 portid, u64 reg_id);
int dcc_op_get_regions(struct dcc *dcc, unsigned int set, u64 cursor,
		       struct dcc_range *out, unsigned int max, u64 *next);
int dcc_op_fill_begin(struct dcc *dcc, u32 portid, u64 reg_id, u64 r);
int dcc_op_fill_done(struct dcc *dcc, u32 portid, u64 reg_id,
		     const struct dcc_range *ranges, unsigned int n, int err);
int dcc_op_fill_release(struct dcc *dcc, u32 portid, u64 reg_id,
			const struct dcc_range *ranges, unsigned int n,
			u64 *released);
int dcc_op_set_invalid(struct dcc *dcc, u32 portid, u64 reg_id,
		       const struct dcc_range *ranges, unsigned int n, bool force);
int dcc_op_arm(struct dcc *dcc, u32 portid, u64 reg_id,
	       const struct dcc_range *ranges, unsigned int n, u64 *armed);
int dcc_op_clear_dirty(struct dcc *dcc, u32 portid, u64 reg_id,
		       const struct dcc_range *ranges, unsigned int n,
		       u64 *cleaned);
int dcc_op_clear_confirmed(struct dcc *dcc, u32 portid, u64 reg_id,
			   const struct dcc_range *ranges, unsigned int n,
			   u64 *cleaned);
int dcc_op_set_role(struct dcc *dcc, u32 portid, u64 reg_id,
		    const struct dcc_role_state *rs,
		    const struct dcc_range *ranges, unsigned int n, bool force,
		    bool clean);
int dcc_op_set_lease(struct dcc *dcc, u32 portid, u64 reg_id, u32 ms);
int dcc_op_set_sync(struct dcc *dcc, u32 portid, u64 reg_id, bool sync);
int dcc_op_writes_done(struct dcc *dcc, u64 reg_id, const u64 *ids,
		       unsigned int n, bool failed, bool confirmed, u64 *count);
int dcc_op_announce_writes(struct dcc *dcc, u64 reg_id);
void dcc_get_role_state(struct dcc *dcc, struct dcc_role_state *rs,
			enum dcc_mode *mode, bool *lease, bool *sync);
void dcc_portid_released(u32 portid);

/* dm-dcc-netlink.c */
int dcc_netlink_init(void);
void dcc_netlink_exit(void);
void dcc_notify_miss(struct dcc *dcc, u64 region);
bool dcc_notify_written(struct dcc *dcc, const struct dcc_written *w,
			unsigned int n);
void dcc_notify_state(struct dcc *dcc);

#endif /* DM_DCC_H */

/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * dm-dcc: the ABI shared by the kernel target and its userspace.
 *
 * Two things live here and nowhere else:
 *   1. the on-disk metadata format (superblock and bitmaps), and
 *   2. the generic netlink family the daemon uses to talk to the target.
 *
 * Everything on disk is little-endian.  Netlink attributes are host-endian,
 * as everywhere in netlink.
 */
#ifndef _UAPI_LINUX_DM_DCC_H
#define _UAPI_LINUX_DM_DCC_H

#include <linux/types.h>

/* ------------------------------------------------------------------------ */
/* On-disk metadata                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Layout of the metadata device, in 4 KiB blocks:
 *
 *   block 0                      superblock (only the first 512 bytes used,
 *                                so that it is written atomically)
 *   block valid_start ...        valid bitmap, bitmap_blocks blocks
 *   block dirty_start ...        dirty bitmap, bitmap_blocks blocks
 *
 * Region r is bit (r % 8) of byte (r / 8) of a bitmap.  Bits past
 * nr_regions are zero.
 */
#define DCC_META_BLOCK_SIZE	4096U
#define DCC_META_BLOCK_SHIFT	12
#define DCC_SB_SIZE		512U

#define DCC_SB_MAGIC		0x31434344U	/* "DCC1" read little-endian */
#define DCC_SB_VERSION		1U

#define DCC_MIN_REGION_SECTORS	8U	/* 4 KiB */
#define DCC_MAX_REGION_SECTORS	2048U	/* 1 MiB */
#define DCC_DEFAULT_REGION_SECTORS 128U	/* 64 KiB */

enum dcc_role {
	DCC_ROLE_NONE = 0,
	DCC_ROLE_OWNER = 1,	/* serves application I/O, accepts writes */
	DCC_ROLE_REPLICA = 2,	/* serves no application I/O */
	/*
	 * Handed the volume over and not yet told whether the other site
	 * took it; serves no application I/O, like a replica.
	 */
	DCC_ROLE_YIELDING = 3,
};

/*
 * How this site's current generation began; chosen by the daemon, only
 * stored and reported by the target.  A freshly formatted volume has
 * DCC_ORIGIN_HANDOVER.
 */
enum dcc_origin {
	DCC_ORIGIN_HANDOVER = 0,	/* a handover, or a fresh format */
	DCC_ORIGIN_FAILOVER = 1,	/* a failover */
	DCC_ORIGIN_FORCED = 2,		/* a forced failover */
	/*
	 * A split brain resolved at its newer site, which dropped its own
	 * writes: that site is replica of this generation, and the older
	 * site takes it as owner.
	 */
	DCC_ORIGIN_RESOLVED = 3,
};

/* Whether this site recorded a split brain (both sites wrote apart). */
enum dcc_split {
	DCC_SPLIT_NONE = 0,
	/*
	 * This site wrote while apart from the peer, whose newer generation
	 * was forced: it serves no I/O until an admin resolves the split.
	 */
	DCC_SPLIT_OLD = 1,
	/* This site is the newer owner of a split brain and serves on. */
	DCC_SPLIT_NEW = 2,
};

struct dcc_disk_sb {
	__le32 csum;		/* crc32 (IEEE, as zlib) of bytes 4..511 */
	__le32 magic;
	__le32 version;
	__le32 flags;		/* DCC_SB_F_*; an unknown flag refuses the device */
	__u8 uuid[16];		/* volume UUID, same at both sites */
	__le64 data_sectors;	/* size of the volume */
	__le64 nr_regions;
	__le64 generation;	/* grows with every ownership change */
	__le32 region_sectors;	/* power of two, 8..2048 */
	__le32 role;		/* enum dcc_role */
	__le64 valid_start;	/* first block of the valid bitmap */
	__le64 dirty_start;	/* first block of the dirty bitmap */
	__le64 bitmap_blocks;	/* blocks per bitmap */
	/*
	 * Written with role and generation.  Superblocks written before
	 * these fields existed have zeros here: handover, no split.
	 * split_generation: with DCC_SPLIT_OLD, the peer's generation when
	 * the split was found (greater than generation); otherwise 0.
	 */
	__le32 origin;		/* enum dcc_origin */
	__le32 split;		/* enum dcc_split */
	__le64 split_generation;
	__u8 pad[DCC_SB_SIZE - 104];
} __attribute__((packed));

/*
 * The owner serves I/O only under a lease its daemon renews
 * (DCC_CMD_SET_LEASE).  Persisted so that a device loaded after a restart
 * holds every bio until its daemon has a lease again.
 */
#define DCC_SB_F_LEASE		(1U << 0)
/*
 * Synchronous replication: a write completes only once the daemon says
 * the other site holds it durably (DCC_CMD_WRITES_DONE), or fails after
 * miss_timeout.  Persisted so that no table ever acknowledges a write of
 * a sync volume that only this site holds.
 */
#define DCC_SB_F_SYNC		(1U << 1)
/*
 * Sync mode: this site may hold a write it acknowledged that the other
 * site lacks.  Committed before a held write completes without the other
 * site's confirmation (the daemon went on alone), set at a switch to sync
 * mode while any region is dirty, and cleared with the dirty bits once no
 * region is unconfirmed.  Without it, a dirty region of a sync volume
 * holds only writes the other site confirmed, or none acknowledged.
 */
#define DCC_SB_F_AHEAD		(1U << 2)
#define DCC_SB_F_ALL		(DCC_SB_F_LEASE | DCC_SB_F_SYNC | DCC_SB_F_AHEAD)

/* DCC_A_LEASE_MS: no lease needed (DCC_SB_F_LEASE cleared) */
#define DCC_LEASE_NONE		0xffffffffU
/* the longest lease the kernel accepts, in milliseconds */
#define DCC_LEASE_MAX_MS	600000U

/* ------------------------------------------------------------------------ */
/* Generic netlink family                                                    */
/* ------------------------------------------------------------------------ */

#define DCC_GENL_NAME		"dm-dcc"
#define DCC_GENL_VERSION	9
#define DCC_GENL_MCGRP_EVENTS	"events"
#define DCC_GENL_MCGRP_WRITES	"writes"

/*
 * Every command names the volume by the device number of its dm device
 * (DCC_A_MAJOR, DCC_A_MINOR).  Commands that change state also carry the
 * registration number (DCC_A_REG_ID) handed out by DCC_CMD_REGISTER; an
 * older number is refused with ESTALE.  All commands need CAP_NET_ADMIN.
 */
enum dcc_cmd {
	DCC_CMD_UNSPEC,
	/*
	 * -> MAJOR MINOR;  <- REG_ID REGION_SECTORS NR_REGIONS DATA_SECTORS
	 *    DATA_MAJOR DATA_MINOR ROLE MODE GENERATION UUID ORIGIN SPLIT
	 *    SPLIT_GENERATION LEASE
	 */
	DCC_CMD_REGISTER,
	/* -> MAJOR MINOR REG_ID */
	DCC_CMD_UNREGISTER,
	/* -> MAJOR MINOR SET [REGION (cursor)];  <- RANGES [NEXT] */
	DCC_CMD_GET_REGIONS,
	/* -> MAJOR MINOR REG_ID REGION: lock an invalid region for a fill */
	DCC_CMD_FILL_BEGIN,
	/*
	 * -> MAJOR MINOR REG_ID (REGION [COUNT] | RANGES) [ERRNO]: end the
	 * fills of those regions with one commit, valid if ERRNO is 0
	 */
	DCC_CMD_FILL_DONE,
	/* -> MAJOR MINOR REG_ID (REGION [COUNT] | RANGES) [FORCE] */
	DCC_CMD_SET_INVALID,
	/*
	 * -> MAJOR MINOR REG_ID (REGION [COUNT] | RANGES) [CONFIRMED];
	 * <- COUNT (regions cleaned): clear the dirty bits of armed regions
	 * no write reached since they were armed; the writes in flight are
	 * waited for, at most about a second (ETIMEDOUT, nothing cleared).
	 * Version 7: with CONFIRMED, only those whose every write the other
	 * site confirmed (none in DCC_SET_UNCONFIRMED, none held): cleared
	 * without a push.
	 */
	DCC_CMD_CLEAR_DIRTY,
	/*
	 * -> MAJOR MINOR REG_ID ROLE GENERATION [ORIGIN] [SPLIT]
	 * [SPLIT_GENERATION] (absent: 0) [RANGES [FORCE]] [CLEAN]: flush the data
	 * device, then commit all of them in one superblock write; the new
	 * values show only once committed.  SPLIT_GENERATION must exceed
	 * GENERATION with SPLIT old, and be 0 otherwise.  Version 8: RANGES
	 * are made invalid in the same commit, all or nothing, under
	 * SET_INVALID's rules (a fill in one: EBUSY; a dirty one without
	 * FORCE: ENOTEMPTY; with FORCE its dirty bit goes too), and CLEAN
	 * (only with ROLE replica, and only from a target whose
	 * committed role is not owner: EBUSY) drops every dirty bit in the
	 * same commit, once the writes in flight ended (at most about a
	 * second: ETIMEDOUT, nothing changed): the old owner of a handover the
	 * new one took.  The bitmaps are written before the superblock.
	 */
	DCC_CMD_SET_ROLE,
	/* event: MAJOR MINOR REGION, a bio waits for this region */
	DCC_CMD_EVENT_MISS,
	/*
	 * event: MAJOR MINOR MODE ROLE GENERATION ORIGIN SPLIT
	 * SPLIT_GENERATION LEASE, something visible changed
	 */
	DCC_CMD_EVENT_STATE,
	/*
	 * -> MAJOR MINOR REG_ID (REGION [COUNT] | RANGES);  <- COUNT (regions
	 * armed): arm those of the regions that are dirty, just before their
	 * data is read for replication
	 */
	DCC_CMD_ARM,
	/*
	 * -> MAJOR MINOR REG_ID LEASE_MS: an owner with DCC_SB_F_LEASE serves
	 * I/O only until LEASE_MS milliseconds from now (0: it ends now);
	 * bios that arrive after that wait for the next lease and fail with
	 * EIO after miss_timeout.  The first lease sets DCC_SB_F_LEASE, and
	 * DCC_LEASE_NONE clears it; a change of the flag is committed before
	 * the reply.
	 */
	DCC_CMD_SET_LEASE,
	/*
	 * Version 5.  -> MAJOR MINOR REG_ID SYNC: set (1) or clear (0)
	 * DCC_SB_F_SYNC, committed before the reply.  Clearing it completes
	 * every held write: the daemon decided to go on without the peer.
	 */
	DCC_CMD_SET_SYNC,
	/*
	 * event (group "writes"): MAJOR MINOR WRITES, writes of a sync
	 * volume that reached the data device here and are held for the
	 * other site; at most DCC_MAX_WRITES_PER_EVENT in one
	 */
	DCC_CMD_EVENT_WRITTEN,
	/*
	 * -> MAJOR MINOR REG_ID WRITE_IDS [ERRNO] [CONFIRMED];  <- COUNT
	 * (writes found): complete those held writes, with EIO if ERRNO is
	 * set.  Version 7: without CONFIRMED (the other site holds them: a
	 * write completed as the daemon goes on alone has none), their
	 * regions become unconfirmed.  REG_ID is checked, not the socket:
	 * another socket of the registered daemon may send it.  Ids not held
	 * (any more) are skipped.
	 */
	DCC_CMD_WRITES_DONE,
	/*
	 * -> MAJOR MINOR REG_ID: announce every held write again (EVENT_WRITTEN),
	 * for a daemon that lost events.  REG_ID is checked, not the socket.
	 */
	DCC_CMD_ANNOUNCE_WRITES,
	/*
	 * Version 6.  -> MAJOR MINOR REG_ID (REGION [COUNT] | RANGES);
	 * <- COUNT (fills ended): end the fills of those regions that no
	 * waiting bio needs the data of (whole-region writes run again as
	 * overwrites); the regions stay invalid, nothing is committed.
	 * Regions a bio needs, or without a fill, are skipped.
	 */
	DCC_CMD_FILL_RELEASE,

	__DCC_CMD_MAX,
};

#define DCC_CMD_MAX (__DCC_CMD_MAX - 1)

enum dcc_attr {
	DCC_A_UNSPEC,
	DCC_A_MAJOR,		/* u32 */
	DCC_A_MINOR,		/* u32 */
	DCC_A_REG_ID,		/* u64 */
	DCC_A_REGION,		/* u64 */
	DCC_A_COUNT,		/* u64 */
	DCC_A_SET,		/* u8, enum dcc_region_set */
	DCC_A_ARM,		/* flag; version 1 only, refused since */
	DCC_A_RANGES,		/* nested: DCC_A_RANGE... */
	DCC_A_RANGE,		/* nested: DCC_RANGE_A_* */
	DCC_A_NEXT,		/* u64, cursor for the next GET_REGIONS */
	DCC_A_ERRNO,		/* u32, positive errno of a failed fill */
	DCC_A_FORCE,		/* flag */
	DCC_A_ROLE,		/* u8, enum dcc_role */
	DCC_A_GENERATION,	/* u64 */
	DCC_A_REGION_SECTORS,	/* u32 */
	DCC_A_NR_REGIONS,	/* u64 */
	DCC_A_DATA_SECTORS,	/* u64 */
	DCC_A_DATA_MAJOR,	/* u32 */
	DCC_A_DATA_MINOR,	/* u32 */
	DCC_A_UUID,		/* binary, 16 bytes */
	DCC_A_MODE,		/* u8, enum dcc_mode */
	DCC_A_PAD,
	/* Version 3; appended so that no older number changes. */
	DCC_A_ORIGIN,		/* u8, enum dcc_origin */
	DCC_A_SPLIT,		/* u8, enum dcc_split */
	DCC_A_SPLIT_GENERATION,	/* u64 */
	DCC_A_LEASE_MS,		/* u32, milliseconds or DCC_LEASE_NONE */
	DCC_A_LEASE,		/* u8: 1 if DCC_SB_F_LEASE is set (REGISTER, EVENT_STATE) */
	/* Version 5. */
	DCC_A_SYNC,		/* u8: DCC_SB_F_SYNC (SET_SYNC, REGISTER, EVENT_STATE) */
	DCC_A_WRITES,		/* binary: struct dcc_written[] */
	DCC_A_WRITE_IDS,	/* binary: __u64[], ids of held writes */
	/* Version 7. */
	DCC_A_CONFIRMED,	/* flag (CLEAR_DIRTY, WRITES_DONE) */
	/* Version 8. */
	DCC_A_CLEAN,		/* flag (SET_ROLE replica) */

	__DCC_A_MAX,
};

#define DCC_A_MAX (__DCC_A_MAX - 1)

enum dcc_range_attr {
	DCC_RANGE_A_UNSPEC,
	DCC_RANGE_A_START,	/* u64 */
	DCC_RANGE_A_COUNT,	/* u64 */
	DCC_RANGE_A_PAD,

	__DCC_RANGE_A_MAX,
};

#define DCC_RANGE_A_MAX (__DCC_RANGE_A_MAX - 1)

enum dcc_region_set {
	DCC_SET_INVALID = 0,	/* regions not valid here */
	DCC_SET_DIRTY = 1,	/* regions written here, not yet replicated */
	DCC_SET_PENDING = 2,	/* regions locked for a fill (a bio waits, or one was begun) */
	DCC_SET_WAITING = 3,	/* the pending regions a bio waits for */
	/*
	 * Version 7: regions with a write that ended without the other
	 * site's confirmation (not held in sync mode, failed, or let go when
	 * sync mode ended) since their dirty bit was last cleared; every
	 * dirty region after the table is loaded.  Not persisted.  Only
	 * meaningful where the region is dirty.
	 */
	DCC_SET_UNCONFIRMED = 4,
	/*
	 * Version 9: regions that may hold a write acknowledged here that
	 * the other site lacks: the dirty ones in async mode; in sync mode
	 * the unconfirmed ones while DCC_SB_F_AHEAD is set, else none.
	 */
	DCC_SET_AHEAD = 5,
	__DCC_SET_MAX,
};

/* Most ranges one GET_REGIONS reply carries; NEXT says where to go on. */
#define DCC_MAX_RANGES_PER_REPLY 256
/* Most ranges one SET_INVALID, FILL_DONE, FILL_RELEASE, ARM or CLEAR_DIRTY
 * may carry. */
#define DCC_MAX_RANGES_PER_REQUEST 1024
/* Most regions one FILL_DONE or FILL_RELEASE may end. */
#define DCC_MAX_FILLS_PER_REQUEST 1024
/* Most regions one ARM or CLEAR_DIRTY may cover, all ranges together. */
#define DCC_MAX_CLEARS_PER_REQUEST (1ULL << 20)

/*
 * A held write of a sync volume (EVENT_WRITTEN): its data is on this
 * site's data device at sectors [sector, sector + sectors).  Ids grow
 * with every held write and are never reused while the module is loaded,
 * across targets and table reloads.
 */
struct dcc_written {
	__u64 id;
	__u64 sector;
	__u32 sectors;
	__u32 pad;
};

/* Most writes one EVENT_WRITTEN carries, and one WRITES_DONE may name. */
#define DCC_MAX_WRITES_PER_EVENT 64
#define DCC_MAX_WRITES_PER_REQUEST 1024

/* Worse modes compare greater. */
enum dcc_mode {
	DCC_MODE_WRITE = 0,	/* normal */
	DCC_MODE_READ_ONLY = 1,	/* a metadata write failed: no writes, no fills */
	DCC_MODE_FAIL = 2,	/* metadata failed again: every bio fails */
};

#endif /* _UAPI_LINUX_DM_DCC_H */

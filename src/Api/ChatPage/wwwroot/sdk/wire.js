/** What the backend sends and accepts (docs/protocol.md; contract §2, §3, §7, §8). */
export {};

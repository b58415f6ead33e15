// cluster-key-slot (ioredis' own slot function, CRC16 of the key's hash tag, mod 16384) ships no types.
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string | Buffer): number
}

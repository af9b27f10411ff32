/** Time, as the domain and the application layer see it: never `new Date()` outside an adapter. */
export interface Clock {
  now(): Date;
}

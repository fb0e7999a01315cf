// A module that is not a plugin: it registers nothing.
export const answer = 42;

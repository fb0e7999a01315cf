// A plugin that fails while it loads (a bug in a user's plugin).
export default function register(): void {
  throw new Error('CoordAttention needs a kernel this plugin forgot to define');
}

namespace Tether.Delivery;

/// <summary>Which posts go first when the budget is short: direct messages, then room messages, then presence notices.</summary>
internal enum PostPriority
{
    Direct = 0,
    Room = 1,
    Presence = 2,
}

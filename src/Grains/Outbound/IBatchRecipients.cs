namespace Tether.Grains;

/// <summary>
/// How the dispatcher learns which connections asked for batched delivery (<c>batch=1</c> at <c>$connect</c>): a bucket
/// of them at a time (see <c>BatchRegistry</c>).
/// </summary>
public interface IBatchRecipients
{
    Task<IReadOnlyCollection<string>> InBucketAsync(int bucket);
}

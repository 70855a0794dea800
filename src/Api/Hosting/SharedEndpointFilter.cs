namespace Tether.Api.Hosting;

public static class SharedEndpointFilter
{
    /// <summary>
    /// Adds <typeparamref name="TFilter"/> as one instance per endpoint: <c>AddEndpointFilter&lt;T&gt;()</c> builds a
    /// filter per request, which would throw away what the filter caches (docs/decisions/shared-endpoint-filters.md).
    /// </summary>
    public static TBuilder AddSharedEndpointFilter<TBuilder, TFilter>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
        where TFilter : IEndpointFilter =>
        builder.AddEndpointFilterFactory((context, next) =>
        {
            var filter = ActivatorUtilities.CreateInstance<TFilter>(context.ApplicationServices);
            return invocation => filter.InvokeAsync(invocation, next);
        });
}

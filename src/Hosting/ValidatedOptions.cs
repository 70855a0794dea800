using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tether.Hosting;

public static class ValidatedOptions
{
    /// <summary>
    /// The one way we register a section: bound, checked by its <see cref="IValidateOptions{T}"/>, checked at start.
    /// Binds once however often it is asked (the embedded API registers the shared options as API and as silo).
    /// </summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, IConfiguration section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        var registered = services.Any(d => d.ServiceType == typeof(IValidateOptions<TOptions>) && d.ImplementationType == typeof(TValidator));
        if (registered) return services.AddOptions<TOptions>();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services.AddOptions<TOptions>().Bind(section).ValidateOnStart();
    }
}
